/**
 * The export of a sharded log (docs/audit.md §10): one export directory per shard, each exactly
 * the one-shard format (export-format.ts) under its shard's origin, in `shards/<k>/`, and an
 * index, `shards.json`, at the top:
 *
 *   {"format":"sovr-audit-shards/v1","shards":N,"exported":[{"dir":"shards/0","origin":"…/shard-0","shard":0},…]}
 *
 * `shards` is the log's shard count; `exported` lists the shard directories present, in shard
 * order. A whole-log export holds every shard; a tenant-scoped one only the shards holding the
 * tenant's records (one, as a tenant's records all go to one shard). A one-shard log's export has
 * no index and no `shards/`: the format it always had.
 */
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { canonicalize } from "../encoding/index.js";

export const SHARDS_FILE = "shards.json";
export const SHARDS_FORMAT = "sovr-audit-shards/v1";

export interface ShardsIndex {
  format: typeof SHARDS_FORMAT;
  shards: number;
  exported: { shard: number; origin: string; dir: string }[];
}

/** The directory shard `k`'s export goes to, relative to the export's top. */
export function shardDir(k: number): string {
  return `shards/${k}`;
}

export async function writeShardsIndex(dir: string, index: ShardsIndex): Promise<void> {
  await writeFile(join(dir, SHARDS_FILE), `${canonicalize(index)}\n`);
}

/**
 * The index of a sharded export, undefined for a one-shard export (no `shards.json`). Throws
 * naming what is wrong with an index that is there but not well formed.
 */
export async function readShardsIndex(dir: string): Promise<ShardsIndex | undefined> {
  let text: string;
  try {
    text = await readFile(join(dir, SHARDS_FILE), "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw err;
  }
  const bad = (what: string) => new Error(`${SHARDS_FILE}: ${what}`);
  let raw: Partial<ShardsIndex>;
  try {
    raw = JSON.parse(text) as Partial<ShardsIndex>;
  } catch {
    throw bad("not JSON");
  }
  if (raw.format !== SHARDS_FORMAT) throw bad(`format is not ${SHARDS_FORMAT}`);
  if (!Number.isSafeInteger(raw.shards) || (raw.shards ?? 0) < 2) throw bad("shards must be an integer ≥ 2");
  if (!Array.isArray(raw.exported)) throw bad("exported must be a list");
  let last = -1;
  for (const e of raw.exported) {
    if (!Number.isSafeInteger(e?.shard) || e.shard <= last || e.shard >= raw.shards!)
      throw bad("exported shards must be distinct, increasing and below shards");
    if (e.dir !== shardDir(e.shard)) throw bad(`shard ${e.shard}: dir must be ${shardDir(e.shard)}`);
    if (typeof e.origin !== "string" || e.origin === "") throw bad(`shard ${e.shard}: no origin`);
    last = e.shard;
  }
  return raw as ShardsIndex;
}
