/**
 * The body of a C2SP tlog-witness `add-checkpoint` request (c2sp.org/tlog-witness):
 *
 *   old <size of the previous checkpoint, decimal>\n
 *   <base64 consistency proof hash>\n   (0 to 63 lines)
 *   \n
 *   <signed checkpoint note>
 *
 * and of the 409 answer, `<size the witness holds>\n` as `text/x.tlog.size`.
 */
import { fromBase64, toBase64 } from "../encoding/index.js";
import { HASH_SIZE } from "./merkle.js";

/** The spec's cap on consistency proof lines. */
export const MAX_PROOF_LINES = 63;
export const SIZE_CONTENT_TYPE = "text/x.tlog.size";

export interface AddCheckpointRequest {
  oldSize: number;
  proof: Uint8Array[];
  /** The signed checkpoint note (text, blank line, signature lines). */
  note: string;
}

export class WitnessProtocolError extends Error {
  override readonly name = "WitnessProtocolError";
}

export function formatAddCheckpoint(req: AddCheckpointRequest): string {
  if (req.proof.length > MAX_PROOF_LINES) throw new WitnessProtocolError("consistency proof too long");
  return [`old ${req.oldSize}`, ...req.proof.map(toBase64), "", req.note].join("\n");
}

export function parseAddCheckpoint(body: string): AddCheckpointRequest {
  const cut = body.indexOf("\n\n");
  if (cut < 0) throw new WitnessProtocolError("no blank line before the checkpoint");
  const [oldLine, ...proofLines] = body.slice(0, cut).split("\n") as [string, ...string[]];
  const m = /^old (0|[1-9][0-9]*)$/.exec(oldLine);
  if (!m) throw new WitnessProtocolError("the first line is not `old <size>`");
  const oldSize = Number(m[1]);
  if (!Number.isSafeInteger(oldSize)) throw new WitnessProtocolError("old size too large");
  if (proofLines.length > MAX_PROOF_LINES) throw new WitnessProtocolError("consistency proof too long");
  const proof = proofLines.map((l) => {
    let h: Uint8Array;
    try {
      h = fromBase64(l);
    } catch {
      throw new WitnessProtocolError("a consistency proof line is not base64");
    }
    if (h.length !== HASH_SIZE) throw new WitnessProtocolError("a consistency proof hash is not 32 bytes");
    return h;
  });
  return { oldSize, proof, note: body.slice(cut + 2) };
}

/** The size in a 409 answer's body, or undefined when it is not one. */
export function parseSizeBody(body: string): number | undefined {
  const m = /^(0|[1-9][0-9]*)\n?$/.exec(body);
  const n = m ? Number(m[1]) : Number.NaN;
  return Number.isSafeInteger(n) ? n : undefined;
}
