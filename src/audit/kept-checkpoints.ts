/**
 * Checkpoints an auditor kept from earlier, checked against a new export
 * (`sovr audit verify DIR --checkpoints FILE`). An export verifies on its own even when the
 * operator cut the log's tail with the checkpoints covering it and the server went on from
 * there (a fork): only a checkpoint kept outside the operator's reach shows it.
 *
 * FILE holds one or more signed checkpoints in either form:
 * - JSON lines `{"note":"<signed note>","size":N}` — an earlier export's `checkpoints.jsonl`
 *   kept as it is;
 * - C2SP signed notes one after another (blank lines between them allowed) — what
 *   `sovr audit checkpoint` prints, or a server's `latest-checkpoint.note`.
 *
 * Each kept checkpoint must be signed by a key of the export under its origin, cover at most
 * the export's records, and the export's Merkle tree at its size must have its root (the
 * kept tree is a prefix of the exported one: RFC 9162 consistency, shown directly).
 */
import { readFile } from "node:fs/promises";
import { toBase64 } from "../encoding/index.js";
import { CheckpointError, checkpointVerifiers, openCheckpoint } from "./checkpoint.js";
import type { KeyRing } from "./keys.js";
import { equalBytes, type MerkleTree } from "./merkle.js";

const SIG_PREFIX = "\u2014 ";

export class KeptCheckpointsError extends Error {
  override readonly name = "KeptCheckpointsError";
}

/** The signed notes in a kept-checkpoints file's text (either form above). */
export function parseKeptCheckpoints(text: string): string[] {
  if (text.trimStart().startsWith("{")) return parseJsonLines(text);
  const lines = text.split("\n");
  if (lines.at(-1) === "") lines.pop();
  const notes: string[] = [];
  let i = 0;
  for (;;) {
    while (i < lines.length && lines[i] === "") i++;
    if (i >= lines.length) break;
    const start = i + 1;
    const body: string[] = [];
    while (i < lines.length && lines[i] !== "") body.push(lines[i++]!);
    const sigs: string[] = [];
    i++; // the blank line between text and signatures
    while (i < lines.length && lines[i]!.startsWith(SIG_PREFIX)) sigs.push(lines[i++]!);
    if (sigs.length === 0)
      throw new KeptCheckpointsError(`line ${start}: a signed note without signature lines`);
    notes.push(`${body.join("\n")}\n\n${sigs.join("\n")}\n`);
  }
  if (notes.length === 0) throw new KeptCheckpointsError("no checkpoints");
  return notes;
}

function parseJsonLines(text: string): string[] {
  const notes: string[] = [];
  for (const [i, line] of text.split("\n").entries()) {
    if (line.trim() === "") continue;
    let entry: { note?: unknown };
    try {
      entry = JSON.parse(line);
    } catch {
      throw new KeptCheckpointsError(`line ${i + 1}: not JSON`);
    }
    if (typeof entry?.note !== "string") throw new KeptCheckpointsError(`line ${i + 1}: no "note"`);
    notes.push(entry.note);
  }
  if (notes.length === 0) throw new KeptCheckpointsError("no checkpoints");
  return notes;
}

/** Reads and parses a kept-checkpoints file; errors name the file. */
export async function readKeptCheckpoints(path: string): Promise<string[]> {
  try {
    return parseKeptCheckpoints(await readFile(path, "utf8"));
  } catch (err) {
    if (err instanceof KeptCheckpointsError) throw new KeptCheckpointsError(`${path}: ${err.message}`);
    throw err;
  }
}

/** The first kept checkpoint the export contradicts (index from 0, and why), if any. */
export function checkKeptCheckpoints(
  notes: readonly string[],
  origin: string,
  ring: KeyRing,
  tree: MerkleTree,
): { kept: number; what: string } | undefined {
  const verifiers = checkpointVerifiers(
    origin,
    ring.list().map((k) => k.publicKeyRaw),
  );
  for (const [kept, note] of notes.entries()) {
    const at = `kept checkpoint ${kept}`;
    let cp: ReturnType<typeof openCheckpoint>;
    try {
      cp = openCheckpoint(note, verifiers, origin);
    } catch (err) {
      if (!(err instanceof CheckpointError)) throw err;
      return {
        kept,
        what: `${at}: ${err.message}; not a checkpoint of this export's log (origin ${JSON.stringify(origin)}, its keys)`,
      };
    }
    const named = `${at} (size ${cp.size}, root ${toBase64(cp.rootHash)})`;
    if (cp.size > tree.size) {
      return {
        kept,
        what: `${named} covers ${cp.size} records but the export has ${tree.size}: the log was cut after this checkpoint was signed — a fork`,
      };
    }
    const root = tree.root(cp.size);
    if (!equalBytes(root, cp.rootHash)) {
      return {
        kept,
        what: `${named}: the export's records 0..${cp.size - 1} have root ${toBase64(root)}: the log was rewritten after this checkpoint was signed — a fork`,
      };
    }
  }
  return undefined;
}
