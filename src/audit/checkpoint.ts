/**
 * Transparency-log checkpoints (c2sp.org/tlog-checkpoint): a signed note whose text is
 *
 *   <origin>\n
 *   <tree size, decimal, no leading zeros>\n
 *   <base64 root hash>\n
 *   [extension lines…]
 *
 * signed by the log's key under a key name equal to the origin.
 */
import { fromBase64, toBase64 } from "../encoding/index.js";
import type { SigningKey } from "./keys.js";
import { HASH_SIZE } from "./merkle.js";
import { NoteError, type NoteVerifier, noteSigner, noteVerifier, openNote, signNote } from "./note.js";

export interface Checkpoint {
  /** The log's identity, e.g. `sovr.example.com/audit`. */
  origin: string;
  /** Number of leaves the root covers. */
  size: number;
  /** RFC 9162 Merkle tree hash of the first `size` leaves. */
  rootHash: Uint8Array;
  /** Opaque, non-empty extension lines (not recommended by the spec; none by default). */
  extensions?: string[];
}

export class CheckpointError extends Error {
  override readonly name = "CheckpointError";
}

/** The note text of a checkpoint. */
export function formatCheckpoint(cp: Checkpoint): string {
  if (cp.origin === "" || cp.origin.includes("\n"))
    throw new CheckpointError("origin must be one non-empty line");
  if (!Number.isSafeInteger(cp.size) || cp.size < 0) throw new CheckpointError(`bad tree size ${cp.size}`);
  if (cp.rootHash.length !== HASH_SIZE) throw new CheckpointError("root hash must be 32 bytes");
  const ext = cp.extensions ?? [];
  if (ext.some((l) => l === "" || l.includes("\n")))
    throw new CheckpointError("extension lines must be non-empty");
  return [cp.origin, String(cp.size), toBase64(cp.rootHash), ...ext].map((l) => `${l}\n`).join("");
}

/** Parses checkpoint note text (not a signed note; see {@link openCheckpoint}). */
export function parseCheckpoint(text: string): Checkpoint {
  if (!text.endsWith("\n")) throw new CheckpointError("checkpoint text must end in a newline");
  const lines = text.slice(0, -1).split("\n");
  if (lines.length < 3) throw new CheckpointError("checkpoint needs origin, size and root hash lines");
  const [origin, sizeLine, rootLine, ...extensions] = lines as [string, string, string, ...string[]];
  if (origin === "") throw new CheckpointError("empty origin");
  if (!/^(0|[1-9][0-9]*)$/.test(sizeLine))
    throw new CheckpointError(`bad tree size ${JSON.stringify(sizeLine)}`);
  const size = Number(sizeLine);
  if (!Number.isSafeInteger(size)) throw new CheckpointError(`tree size ${sizeLine} too large`);
  let rootHash: Uint8Array;
  try {
    rootHash = fromBase64(rootLine);
  } catch {
    throw new CheckpointError("root hash is not base64");
  }
  if (rootHash.length !== HASH_SIZE) throw new CheckpointError("root hash must be 32 bytes");
  if (extensions.some((l) => l === "")) throw new CheckpointError("empty extension line");
  return extensions.length > 0 ? { origin, size, rootHash, extensions } : { origin, size, rootHash };
}

/** The signed note of a checkpoint, signed by `key` under the key name `cp.origin`. */
export function signCheckpoint(cp: Checkpoint, key: SigningKey): string {
  return signNote(formatCheckpoint(cp), [noteSigner(cp.origin, key)]);
}

/** Note verifiers for a log's public keys, all under the key name `origin`. */
export function checkpointVerifiers(origin: string, publicKeysRaw: Iterable<Uint8Array>): NoteVerifier[] {
  return [...publicKeysRaw].map((k) => noteVerifier(origin, k));
}

/**
 * Verifies a signed checkpoint and parses it. At least one signature must come from
 * `verifiers` (see {@link openNote}); the origin must equal `origin` when given.
 */
export function openCheckpoint(
  note: string,
  verifiers: readonly NoteVerifier[],
  origin?: string,
): Checkpoint {
  let text: string;
  try {
    text = openNote(note, verifiers).text;
  } catch (err) {
    if (err instanceof NoteError) throw new CheckpointError(err.message, { cause: err });
    throw err;
  }
  const cp = parseCheckpoint(text);
  if (origin !== undefined && cp.origin !== origin) {
    throw new CheckpointError(
      `checkpoint origin ${JSON.stringify(cp.origin)} is not ${JSON.stringify(origin)}`,
    );
  }
  return cp;
}
