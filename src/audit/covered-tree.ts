import type { Kysely } from "kysely";
import type { Database } from "../db/index.js";
import { readLeafHashes, type StoredCheckpoint } from "./audit-store.js";
import { type LogTree, TILE_WIDTH } from "./log-tree.js";
import { equalBytes } from "./merkle.js";
import { readTileHashes } from "./tile-store.js";

/**
 * Fills the empty `tree` with what the latest stored checkpoint covers: its complete tiles by
 * their stored hashes (a log written before tiles were stored has none: its leaves are read,
 * and the next checkpoint stores them), then the stored leaf hashes after them, which together
 * must reproduce the checkpoint's signed root. A gap or another root goes to `fail`, which
 * throws. Returns how many tiles came from storage.
 */
export async function loadCoveredTree(
  db: Kysely<Database>,
  shard: number,
  tree: LogTree,
  latest: StoredCheckpoint | undefined,
  fail: (what: string) => never,
): Promise<number> {
  const covered = latest?.size ?? 0;
  const tiles = await readTileHashes(db, shard, Math.floor(covered / TILE_WIDTH));
  for (const hash of tiles) tree.appendTile(hash);
  for await (const { seq, leafHash } of readLeafHashes(db, tree.size, covered, undefined, shard)) {
    if (seq !== tree.size) fail(`seq ${tree.size} is missing from the database`);
    tree.append(leafHash);
  }
  if (latest) {
    if (tree.size !== covered) fail(`seq ${tree.size} is missing: checkpoint ${covered} covers it`);
    if (!equalBytes(tree.currentRoot(), latest.rootHash)) {
      fail(
        `${tiles.length > 0 ? `stored tile hashes 0..${tiles.length - 1} and leaves` : "stored leaves"} ${tiles.length * TILE_WIDTH}..${covered - 1} do not reproduce the root of the latest checkpoint (size ${covered})`,
      );
    }
  }
  return tiles.length;
}
