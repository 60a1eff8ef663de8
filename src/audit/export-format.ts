/**
 * The offline export of the audit log (`sovr audit export --out DIR`), read by
 * `sovr audit verify DIR` with no database. A directory of three files:
 *
 * - `records.jsonl` — one line per log entry, in sequence order from 0:
 *   `{"envelope":{…DSSE…},"seq":N}` (canonical JSON). The envelope's payload is the record's
 *   canonical JSON; the Merkle leaf of entry N is SHA-256(0x00 ‖ canonical JSON of the envelope).
 * - `checkpoints.jsonl` — one line per signed checkpoint, in increasing size:
 *   `{"cosignatures":["— <witness> <base64>"…],"note":"<C2SP signed note>","size":N}`;
 *   `cosignatures` (witness cosignature lines, c2sp.org/tlog-cosignature) only when there are any.
 * - `keys.json` — `{format, origin, keys: [PublishedKey…], scope?}`: every public key that signed
 *   a record or a checkpoint, with key id and validity; checkpoints are signed under the key name
 *   `origin`.
 *
 * - `catalogs/<revision>.json` — each catalog revision the decision records refer to
 *   (`catalog_revision`), exactly the stored canonical bytes whose SHA-256 (hex) is `<revision>`
 *   (export-catalogs.ts). Absent from exports of v1 records written before it existed.
 *
 * A tenant-scoped export (`scope: {tenant, from_seq}` in keys.json) holds only that tenant's
 * entries, so `seq` is increasing but not dense; each line also carries the entry's RFC 9162
 * inclusion proof, `"proof":{"hashes":[base64…],"leaf_index":N,"tree_size":M}`, to the one
 * checkpoint in checkpoints.jsonl. `from_seq` is where the export was asked to start (0: the
 * tenant's whole history, whose first v2 record must have tenant_seq 1).
 */
import { once } from "node:events";
import { createReadStream, createWriteStream, type WriteStream } from "node:fs";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { canonicalize } from "../encoding/index.js";
import type { DsseEnvelope } from "./dsse.js";
import {
  CATALOGS_DIR,
  catalogDocumentRevision,
  catalogFileName,
  isCatalogRevisionId,
} from "./export-catalogs.js";
import { type PublicKeyInfo, type PublishedKey, toPublishedKey } from "./keys.js";

export const EXPORT_FORMAT = "sovr-audit-export/v1";
export const RECORDS_FILE = "records.jsonl";
export const CHECKPOINTS_FILE = "checkpoints.jsonl";
export const KEYS_FILE = "keys.json";

/** An RFC 9162 inclusion proof as a tenant-scoped export writes it (hashes in base64). */
export interface ExportProof {
  leaf_index: number;
  tree_size: number;
  hashes: string[];
}

/** One log entry: its sequence number (= Merkle leaf index) and signed record. */
export interface ExportEntry {
  seq: number;
  envelope: DsseEnvelope;
  /** Tenant-scoped exports: the entry's inclusion proof to the export's checkpoint. */
  proof?: ExportProof;
}

/** What a tenant-scoped export covers. */
export interface ExportScope {
  tenant: string;
  /** The first sequence number asked for (0: from the start of the log). */
  from_seq: number;
}

/** A signed checkpoint note and the tree size it states. */
export interface ExportCheckpoint {
  size: number;
  note: string;
  /** Witness cosignature lines (`— <name> <base64>`); written only when there are any. */
  cosignatures?: readonly string[];
}

/** Contents of `keys.json`. */
export interface ExportKeys {
  format: typeof EXPORT_FORMAT;
  /** The log origin: first line of every checkpoint and the key name its signatures use. */
  origin: string;
  keys: PublishedKey[];
  /** Set for a tenant-scoped export. */
  scope?: ExportScope;
}

/** The `keys.json` object for a log origin and its public keys (and a tenant scope). */
export function exportKeys(origin: string, keys: Iterable<PublicKeyInfo>, scope?: ExportScope): ExportKeys {
  return { format: EXPORT_FORMAT, origin, keys: [...keys].map(toPublishedKey), ...(scope ? { scope } : {}) };
}

/** The lines of an export file, streamed. */
export async function* readLines(path: string): AsyncGenerator<string> {
  const rl = createInterface({
    input: createReadStream(path, { encoding: "utf8" }),
    crlfDelay: Number.POSITIVE_INFINITY,
  });
  try {
    for await (const line of rl) yield line;
  } finally {
    rl.close();
  }
}

/** Appends one JSON line, waiting when the stream's buffer is full. */
async function writeLine(stream: WriteStream, value: unknown): Promise<void> {
  if (!stream.write(`${canonicalize(value)}\n`)) await once(stream, "drain");
}

async function closeStream(stream: WriteStream): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    stream.once("error", reject);
    stream.end(() => resolve());
  });
}

/**
 * Streams an export to disk, for logs too large to hold in memory.
 *
 * @example
 * const w = await ExportWriter.open(dir, exportKeys(origin, ring.list()));
 * for await (const row of rows) await w.writeRecord({ seq: row.seq, envelope: row.envelope });
 * for (const c of checkpoints) await w.writeCheckpoint({ size: c.size, note: c.note });
 * await w.close();
 */
export class ExportWriter {
  private nextSeq = 0;
  private lastCheckpointSize = -1;
  private checkpointCount = 0;
  private written = 0;

  private catalogCount = 0;

  private constructor(
    private readonly dir: string,
    private readonly records: WriteStream,
    private readonly checkpoints: WriteStream,
    private readonly faithful: boolean,
  ) {}

  /**
   * Creates `dir` if needed, writes keys.json and opens the two line files (replacing them).
   * `faithful`: write entries and checkpoints exactly as received, gaps and disorder included,
   * so that `verify` judges what a server served instead of the writer refusing it.
   */
  static async open(dir: string, keys: ExportKeys, opts: { faithful?: boolean } = {}): Promise<ExportWriter> {
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, KEYS_FILE), `${JSON.stringify(keys, null, 2)}\n`);
    const records = createWriteStream(join(dir, RECORDS_FILE));
    const checkpoints = createWriteStream(join(dir, CHECKPOINTS_FILE));
    await Promise.all([once(records, "open"), once(checkpoints, "open")]);
    return new ExportWriter(dir, records, checkpoints, opts.faithful ?? false);
  }

  /** Entries must come in sequence order from 0 with no gaps. */
  async writeRecord(entry: ExportEntry): Promise<void> {
    if (entry.seq !== this.nextSeq && !this.faithful)
      throw new RangeError(`export out of order: seq ${entry.seq}, expected ${this.nextSeq}`);
    await writeLine(this.records, {
      seq: entry.seq,
      envelope: entry.envelope,
      ...(entry.proof ? { proof: entry.proof } : {}),
    });
    this.nextSeq++;
    this.written++;
  }

  /** Checkpoints must come in increasing size. */
  async writeCheckpoint(cp: ExportCheckpoint): Promise<void> {
    if (cp.size <= this.lastCheckpointSize && !this.faithful) {
      throw new RangeError(`checkpoints out of order: size ${cp.size} after ${this.lastCheckpointSize}`);
    }
    const cosigned = cp.cosignatures?.length ? { cosignatures: [...cp.cosignatures] } : {};
    await writeLine(this.checkpoints, { size: cp.size, note: cp.note, ...cosigned });
    this.lastCheckpointSize = cp.size;
    this.checkpointCount++;
  }

  /**
   * Writes `catalogs/<revision>.json` with exactly `document`'s bytes. The revision must look
   * like one (64 hex digits): it becomes a file name, so nothing a server sends can name a path
   * outside the folder. Unless `faithful`, the document must hash to it.
   */
  async writeCatalog(revision: string, document: Uint8Array): Promise<void> {
    if (!isCatalogRevisionId(revision))
      throw new RangeError(`catalog revision ${JSON.stringify(revision)} is not 64 hex digits`);
    if (!this.faithful && catalogDocumentRevision(document) !== revision)
      throw new RangeError(`catalog revision ${revision}: the document hashes to something else`);
    await mkdir(join(this.dir, CATALOGS_DIR), { recursive: true });
    await writeFile(join(this.dir, catalogFileName(revision)), document);
    this.catalogCount++;
  }

  /** Flushes and closes both files. */
  async close(): Promise<{ records: number; checkpoints: number; catalogs: number }> {
    await Promise.all([closeStream(this.records), closeStream(this.checkpoints)]);
    return { records: this.written, checkpoints: this.checkpointCount, catalogs: this.catalogCount };
  }
}

/** Writes a whole export: entries (from seq 0, in order), checkpoints (increasing size), keys. */
export async function writeExport(
  dir: string,
  entries: Iterable<ExportEntry> | AsyncIterable<ExportEntry>,
  checkpoints: Iterable<ExportCheckpoint> | AsyncIterable<ExportCheckpoint>,
  keys: ExportKeys,
): Promise<{ records: number; checkpoints: number; catalogs: number }> {
  const w = await ExportWriter.open(dir, keys);
  try {
    for await (const e of entries) await w.writeRecord(e);
    for await (const c of checkpoints) await w.writeCheckpoint(c);
  } catch (err) {
    await w.close();
    throw err;
  }
  return w.close();
}
