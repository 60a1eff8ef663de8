/**
 * Verification's witness check (`sovr audit verify --witness VKEY… --witnesses-required K`):
 * the export's checkpoints carry the cosignature lines the witnesses returned
 * (checkpoints.jsonl `cosignatures`); the newest checkpoint — the one the export is read
 * against — must be cosigned by at least K of the pinned witnesses. A cosignature line that
 * names a pinned witness (name and key ID) but does not verify fails verification: someone
 * altered it. Lines of witnesses not pinned are ignored, as signed-note says.
 */
import { type CosignatureVerifier, cosigners } from "./cosignature.js";
import { NoteError, parseNote } from "./note.js";

/** Pinned witnesses and how many of them must have cosigned. */
export interface WitnessRequirement {
  witnesses: readonly CosignatureVerifier[];
  required: number;
}

/** The pinned witnesses that cosigned `note`, or the reason the lines are unacceptable. */
export function checkCosignatures(
  note: string,
  lines: unknown,
  witnesses: readonly CosignatureVerifier[],
): { cosigned: string[] } | { problem: string } {
  if (lines === undefined) return { cosigned: [] };
  if (!Array.isArray(lines) || lines.some((l) => typeof l !== "string"))
    return { problem: "cosignatures is not a list of signature lines" };
  let parsed: ReturnType<typeof parseNote>;
  try {
    const { text } = parseNote(note);
    parsed = lines.length === 0 ? { text, signatures: [] } : parseNote(`${text}\n${lines.join("\n")}\n`);
  } catch (err) {
    if (err instanceof NoteError) return { problem: `cosignatures: ${err.message}` };
    throw err;
  }
  const { names, invalid } = cosigners(parsed.text, parsed.signatures, witnesses);
  if (invalid.length > 0)
    return { problem: `the cosignature of witness ${invalid[0]} does not verify (altered)` };
  return { cosigned: names };
}

/** The missing-quorum message, or undefined when `cosigned` meets the requirement. */
export function quorumProblem(cosigned: readonly string[], req: WitnessRequirement): string | undefined {
  if (cosigned.length >= req.required) return undefined;
  const missing = req.witnesses.filter((w) => !cosigned.includes(w.vkey)).map((w) => w.name);
  return `missing witness quorum: cosigned by ${cosigned.length} of the ${req.witnesses.length} pinned witnesses, ${req.required} required (not cosigned by ${missing.join(", ")}) — without it nothing shows this is the view others were shown (a split view is not excluded)`;
}
