/**
 * A C2SP tlog-witness (c2sp.org/tlog-witness) — what `sovr audit witness` runs, so an auditor
 * can vouch for a log's append-only growth. For each configured log (origin and verifier keys)
 * it keeps the latest checkpoint it cosigned; `add-checkpoint` answers as the spec says:
 *
 * - 404 unknown origin; 403 no signature of a trusted log key (or one that fails);
 * - 400 old size larger than the checkpoint's, or a malformed body;
 * - 409 old size is not the size it holds (body: that size, `text/x.tlog.size`) — a log that
 *   rolled back, or a client that did not know;
 * - 422 a size-0 checkpoint without the empty root, a proof with old size 0, the same size with
 *   another root, or a consistency proof that fails — a split view or a rewritten history;
 * - 200 one cosignature line (type 0x04), after the new head is persisted.
 *
 * Check and update run one at a time (a queue), so two requests cannot roll the head back.
 */

import { createHash } from "node:crypto";
import { SerialQueue } from "../concurrency/index.js";
import { type Checkpoint, CheckpointError, openCheckpoint, parseCheckpoint } from "./checkpoint.js";
import { EMPTY_ROOT, equalBytes, verifyConsistency } from "./merkle.js";
import { type NoteSigner, type NoteVerifier, parseNote, signNote } from "./note.js";
import { parseAddCheckpoint, SIZE_CONTENT_TYPE, WitnessProtocolError } from "./witness-protocol.js";
import type { WitnessStateFile } from "./witness-state.js";

export interface WitnessedLog {
  origin: string;
  verifiers: NoteVerifier[];
}

export interface WitnessAnswer {
  status: number;
  contentType: string;
  body: string;
}

export interface WitnessLogger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

const text = (status: number, body: string): WitnessAnswer => ({
  status,
  contentType: "text/plain; charset=utf-8",
  body: `${body}\n`,
});

export class Witness {
  readonly #logs: Map<string, WitnessedLog>;
  /** Check and update, one request at a time. */
  readonly #queue = new SerialQueue();

  constructor(
    private readonly signer: NoteSigner,
    logs: readonly WitnessedLog[],
    private readonly state: WitnessStateFile,
    private readonly logger?: WitnessLogger,
  ) {
    this.#logs = new Map(logs.map((l) => [l.origin, l]));
  }

  /** POST add-checkpoint. */
  addCheckpoint(body: string): Promise<WitnessAnswer> {
    return this.#queue.run(() => this.#add(body));
  }

  /** GET <sha256(origin) hex>/checkpoint: the latest cosigned checkpoint of that log. */
  latest(originHash: string): WitnessAnswer {
    for (const origin of this.#logs.keys()) {
      if (createHash("sha256").update(origin).digest("hex") !== originHash) continue;
      const head = this.state.get(origin);
      if (head?.note) return { status: 200, contentType: "text/plain; charset=utf-8", body: head.note };
    }
    return text(404, "no checkpoint cosigned for this log");
  }

  async #add(body: string): Promise<WitnessAnswer> {
    let req: ReturnType<typeof parseAddCheckpoint>;
    try {
      req = parseAddCheckpoint(body);
    } catch (err) {
      if (err instanceof WitnessProtocolError) return text(400, err.message);
      throw err;
    }
    const origin = req.note.slice(0, req.note.indexOf("\n"));
    const log = this.#logs.get(origin);
    if (!log) return text(404, "unknown log origin");
    let cp: Checkpoint;
    try {
      cp = openCheckpoint(req.note, log.verifiers, origin);
    } catch (err) {
      if (!(err instanceof CheckpointError)) throw err;
      // A note that does not parse as a checkpoint at all is a bad request; a signature that
      // is missing or fails is forbidden.
      try {
        parseCheckpoint(parseNote(req.note).text);
      } catch {
        return text(400, "not a checkpoint");
      }
      return text(403, "no valid signature of a key trusted for this log");
    }
    if (req.oldSize > cp.size) return text(400, "old size is larger than the checkpoint's size");
    const held = this.state.get(origin);
    const heldSize = held?.size ?? 0;
    if (req.oldSize !== heldSize) {
      this.logger?.info(
        { origin, old: req.oldSize, held: heldSize, size: cp.size },
        "witness: old size conflict",
      );
      return { status: 409, contentType: SIZE_CONTENT_TYPE, body: `${heldSize}\n` };
    }
    if (cp.size === 0 && !equalBytes(cp.rootHash, EMPTY_ROOT))
      return text(422, "a checkpoint of size 0 must have the empty tree's root");
    const ok =
      req.oldSize === 0
        ? req.proof.length === 0
        : verifyConsistency(req.oldSize, cp.size, held?.rootHash ?? EMPTY_ROOT, cp.rootHash, req.proof);
    if (!ok) {
      // Signed by the log and inconsistent with what we cosigned: evidence of a split view or
      // a rewritten history, kept in the witness's log (never the request's other content).
      this.logger?.warn(
        { origin, held: heldSize, size: cp.size, note: req.note },
        "witness: REFUSED a checkpoint inconsistent with the one cosigned before (split view or rewritten history)",
      );
      return text(422, "the checkpoint is not consistent with the latest one this witness cosigned");
    }
    const signed = signNote(parseNote(req.note).text, [this.signer]);
    const line = signed.slice(signed.lastIndexOf("\n\n") + 2);
    await this.state.set(origin, { size: cp.size, rootHash: cp.rootHash, note: req.note + line });
    this.logger?.info({ origin, size: cp.size }, "witness: cosigned");
    return { status: 200, contentType: "text/plain; charset=utf-8", body: line };
  }
}
