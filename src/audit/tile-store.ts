/**
 * The stored hashes of the log's complete tiles (`audit_tiles`, one row per 256 records): what a
 * checkpointer starts from instead of every leaf hash (checkpointer.ts). They are trusted only
 * as far as they, with the leaves after them, reproduce a signed checkpoint's root.
 */
import type { Kysely } from "kysely";
import type { Database } from "../db/index.js";
import { equalBytes } from "./merkle.js";

/** Rows per insert statement (three parameters each). */
const INSERT_ROWS = 1000;

/** The stored hashes of tiles 0, 1, … of `shard` below `upTo`, as far as they run without a gap. */
export async function readTileHashes(
  db: Kysely<Database>,
  shard: number,
  upTo: number,
): Promise<Uint8Array[]> {
  if (upTo <= 0) return [];
  const rows = await db
    .selectFrom("audit_tiles")
    .select(["tile", "hash"])
    .where("shard", "=", shard)
    .where("tile", "<", upTo)
    .orderBy("tile")
    .execute();
  const hashes: Uint8Array[] = [];
  for (const r of rows) {
    if (Number(r.tile) !== hashes.length) break;
    hashes.push(r.hash);
  }
  return hashes;
}

/**
 * Stores the hashes of tiles `from`, `from + 1`, … of `shard`, keeping rows already there
 * (another replica's, or this process's before a restart); returns the first tile stored with
 * another hash — two trees of one log disagree: a fork —, if any.
 */
export async function storeTileHashes(
  db: Kysely<Database>,
  shard: number,
  from: number,
  hashes: readonly Uint8Array[],
): Promise<number | undefined> {
  for (let i = 0; i < hashes.length; i += INSERT_ROWS) {
    await db
      .insertInto("audit_tiles")
      .values(hashes.slice(i, i + INSERT_ROWS).map((hash, j) => ({ shard, tile: from + i + j, hash })))
      .onConflict((oc) => oc.columns(["shard", "tile"]).doNothing())
      .execute();
  }
  const stored = await db
    .selectFrom("audit_tiles")
    .select(["tile", "hash"])
    .where("shard", "=", shard)
    .where("tile", ">=", from)
    .where("tile", "<", from + hashes.length)
    .orderBy("tile")
    .execute();
  for (const r of stored) {
    const t = Number(r.tile);
    if (!equalBytes(r.hash, hashes[t - from]!)) return t;
  }
  if (stored.length !== hashes.length)
    throw new Error(`tiles ${from}..${from + hashes.length - 1} were not all stored`);
  return undefined;
}
