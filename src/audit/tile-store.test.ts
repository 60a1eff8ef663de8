import { sql } from "kysely";
import { afterAll, describe, expect, it } from "vitest";
import { testDatabases } from "../../test/support/databases.js";
import { readTileHashes, storeTileHashes } from "./tile-store.js";

const hash = (b: number) => new Uint8Array(32).fill(b);
const hex = (xs: Uint8Array[]) => xs.map((x) => Buffer.from(x).toString("hex"));

describe.each(testDatabases)("tile hashes in the database (%s)", (database) => {
  const cleanup: (() => Promise<unknown>)[] = [];
  afterAll(async () => {
    for (const c of cleanup.reverse()) await c().catch(() => {});
  });

  it("stores tiles once, names the first stored with another hash, and reads back the run from tile 0", async () => {
    const h = await database.open();
    cleanup.push(() => h.close());
    expect(await readTileHashes(h.db, 0, 10)).toEqual([]);
    expect(await storeTileHashes(h.db, 0, 0, [hash(1), hash(2), hash(3)])).toBeUndefined();
    // Again, overlapping (another replica, or a restart): the same hashes are no conflict.
    expect(await storeTileHashes(h.db, 0, 1, [hash(2), hash(3), hash(4)])).toBeUndefined();
    expect(hex(await readTileHashes(h.db, 0, 10))).toEqual(hex([hash(1), hash(2), hash(3), hash(4)]));
    expect(hex(await readTileHashes(h.db, 0, 2))).toEqual(hex([hash(1), hash(2)]));
    // Another shard's tiles are its own.
    expect(await readTileHashes(h.db, 1, 10)).toEqual([]);
    expect(await storeTileHashes(h.db, 1, 0, [hash(9)])).toBeUndefined();
    // A tile stored with another hash is named, and the row keeps its hash.
    expect(await storeTileHashes(h.db, 0, 3, [hash(4), hash(5)])).toBeUndefined();
    expect(await storeTileHashes(h.db, 0, 2, [hash(3), hash(8), hash(6)])).toBe(3);
    expect(hex(await readTileHashes(h.db, 0, 5))).toEqual(hex([hash(1), hash(2), hash(3), hash(4), hash(5)]));
    // The table is append-only; with a row gone the run from tile 0 stops before it.
    await expect(h.db.deleteFrom("audit_tiles").where("tile", "=", 1).execute()).rejects.toThrow(
      /audit_tiles is append-only/,
    );
    await sql`alter table audit_tiles disable trigger audit_tiles_no_update`.execute(h.db);
    await h.db.deleteFrom("audit_tiles").where("shard", "=", 0).where("tile", "=", 1).execute();
    await sql`alter table audit_tiles enable trigger audit_tiles_no_update`.execute(h.db);
    expect(hex(await readTileHashes(h.db, 0, 10))).toEqual(hex([hash(1)]));
  });
});
