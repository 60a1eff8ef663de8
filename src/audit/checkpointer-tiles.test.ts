/**
 * The checkpointer keeps the log's leaves in the database (log-tree.ts): proofs over old
 * records read their tile back, a restart rebuilds the same tree, and a stored leaf changed
 * after the tree took it stops the checkpointer instead of yielding a proof.
 */
import { sql } from "kysely";
import { afterAll, describe, expect, it } from "vitest";
import { testDatabases } from "../../test/support/databases.js";
import { AuditLog } from "./audit-log.js";
import { latestCheckpoint, readLeafHashes } from "./audit-store.js";
import { Checkpointer } from "./checkpointer.js";
import { LogIntegrityError } from "./errors.js";
import { sampleDecisionAppend } from "./fixtures/records.js";
import { generateSigningKey } from "./keys.js";
import { TILE_WIDTH } from "./log-tree.js";
import { equalBytes, MerkleTree, verifyConsistency, verifyInclusion } from "./merkle.js";
import { publishSigningKey } from "./signing-keys.js";

const RECORDS = 3 * TILE_WIDTH + 90;

describe.each(testDatabases)("checkpointer over tiles of stored leaves (%s)", (database) => {
  const cleanup: (() => Promise<unknown>)[] = [];
  afterAll(async () => {
    for (const c of cleanup.reverse()) await c().catch(() => {});
  });

  it("proves old records from tiles read back, restarts to the same tree, and faults on a changed leaf", async () => {
    const h = await database.open();
    cleanup.push(() => h.close());
    const key = generateSigningKey();
    await publishSigningKey(h.db, key);
    const logOptions = { batchDelayMs: 0, batchMax: 64 };
    const audit = new AuditLog(h.db, h.kind, key, logOptions);
    const options = { origin: "test.example/tiles", every: 1_000_000, intervalMs: 3_600_000 };
    const cp = new Checkpointer(h.db, h.kind, audit, key, options);
    await cp.start();
    await Promise.all(Array.from({ length: RECORDS }, () => audit.append(sampleDecisionAppend("acme"))));
    await audit.drain();
    const signed = await cp.checkpoint();
    expect(signed?.size).toBe(RECORDS);

    const leaves: Uint8Array[] = [];
    for await (const { leafHash } of readLeafHashes(h.db, 0, RECORDS)) leaves.push(leafHash);
    const full = MerkleTree.fromLeafHashes(leaves);
    expect(equalBytes(signed!.rootHash, full.root())).toBe(true);

    // Seq 3 is in the first tile, which memory no longer holds (it holds the third and the
    // fourth, being filled).
    for (const seq of [3, 2 * TILE_WIDTH + 7, 3 * TILE_WIDTH + 5]) {
      const proof = await cp.inclusionProof(seq, RECORDS);
      expect(verifyInclusion(leaves[seq]!, seq, RECORDS, proof, signed!.rootHash), `seq ${seq}`).toBe(true);
    }
    const proof = await cp.consistencyProof(100, RECORDS);
    expect(verifyConsistency(100, RECORDS, full.root(100), signed!.rootHash, proof)).toBe(true);

    // A second checkpointer over the same rows (a restart) builds the same tree.
    const again = new Checkpointer(h.db, h.kind, new AuditLog(h.db, h.kind, key, logOptions), key, options);
    await again.start();
    expect(again.size).toBe(RECORDS);
    expect((await again.inclusionProof(3, RECORDS)).map((x) => Buffer.from(x).toString("hex"))).toEqual(
      full.inclusionProof(3, RECORDS).map((x) => Buffer.from(x).toString("hex")),
    );

    // An operator rewrites the leaf hash of seq 260, in the second tile, which neither
    // checkpointer holds or has read back. (Tiles read back are kept, checked, in a small cache.)
    await sql`alter table audit_log disable trigger audit_log_no_update`.execute(h.db);
    await h.db.updateTable("audit_log").set({ leaf_hash: leaves[261]! }).where("seq", "=", 260).execute();
    await sql`alter table audit_log enable trigger audit_log_no_update`.execute(h.db);
    const err = await cp.inclusionProof(260, RECORDS).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LogIntegrityError);
    expect((err as Error).message).toMatch(/leaves 256\.\.511 in storage do not hash to the tile/);
    expect(cp.fault).toBe(err);
    await expect(cp.checkpoint()).rejects.toBe(cp.fault);
    expect((await latestCheckpoint(h.db, 0))?.size).toBe(RECORDS);
  });

  it("starts from the stored tile hashes, checked against the checkpoint; a tile stored with another hash is a fork", async () => {
    const h = await database.open();
    cleanup.push(() => h.close());
    const key = generateSigningKey();
    await publishSigningKey(h.db, key);
    const logOptions = { batchDelayMs: 0, batchMax: 64 };
    const options = { origin: "test.example/tiles", every: 1_000_000, intervalMs: 3_600_000 };
    const started = async () => {
      const audit = new AuditLog(h.db, h.kind, key, logOptions);
      const cp = new Checkpointer(h.db, h.kind, audit, key, options);
      await cp.start();
      return { audit, cp };
    };
    const append = (audit: AuditLog, n: number) =>
      Promise.all(Array.from({ length: n }, () => audit.append(sampleDecisionAppend("acme"))));
    const bypass = async (table: "audit_log" | "audit_tiles", change: () => Promise<unknown>) => {
      await sql`alter table ${sql.table(table)} disable trigger ${sql.ref(`${table}_no_update`)}`.execute(
        h.db,
      );
      await change();
      await sql`alter table ${sql.table(table)} enable trigger ${sql.ref(`${table}_no_update`)}`.execute(
        h.db,
      );
    };
    const storedTiles = async () =>
      (await h.db.selectFrom("audit_tiles").select(["tile", "hash"]).orderBy("tile").execute()).map((r) => [
        Number(r.tile),
        Buffer.from(r.hash).toString("hex"),
      ]);
    const tilesOf = async (n: number) => {
      const leaves: Uint8Array[] = [];
      for await (const { leafHash } of readLeafHashes(h.db, 0, n)) leaves.push(leafHash);
      return Array.from({ length: Math.floor(n / TILE_WIDTH) }, (_, t) => [
        t,
        Buffer.from(
          MerkleTree.fromLeafHashes(leaves.slice(t * TILE_WIDTH, (t + 1) * TILE_WIDTH)).root(),
        ).toString("hex"),
      ]);
    };

    const first = await started();
    await append(first.audit, RECORDS);
    await first.cp.checkpoint();
    // The checkpoint stored its three complete tiles' hashes (tile 3 is being filled).
    expect(await storedTiles()).toEqual(await tilesOf(RECORDS));
    expect(await storedTiles()).toHaveLength(3);

    // A start takes the tiles by their hashes: a leaf changed inside one is not read then, but
    // is found when a proof reads its tile back.
    const seq260 = await h.db
      .selectFrom("audit_log")
      .select("leaf_hash")
      .where("seq", "=", 260)
      .executeTakeFirstOrThrow();
    const other = await h.db
      .selectFrom("audit_log")
      .select("leaf_hash")
      .where("seq", "=", 261)
      .executeTakeFirstOrThrow();
    await bypass("audit_log", () =>
      h.db.updateTable("audit_log").set({ leaf_hash: other.leaf_hash }).where("seq", "=", 260).execute(),
    );
    const second = await started();
    expect(second.cp.size).toBe(RECORDS);
    await expect(second.cp.inclusionProof(260, RECORDS)).rejects.toThrow(
      /leaves 256\.\.511 in storage do not hash/,
    );
    await bypass("audit_log", () =>
      h.db.updateTable("audit_log").set({ leaf_hash: seq260.leaf_hash }).where("seq", "=", 260).execute(),
    );

    // A tile hash changed: the start's root is not the signed checkpoint's.
    await bypass("audit_tiles", () =>
      h.db
        .updateTable("audit_tiles")
        .set({ hash: new Uint8Array(32) })
        .where("tile", "=", 1)
        .execute(),
    );
    await expect(started()).rejects.toThrow(
      /stored tile hashes 0\.\.2 and leaves 768\.\.857 do not reproduce the root of the latest checkpoint/,
    );

    // No tiles stored (a log from before they were): the start reads the leaves, and the next
    // checkpoint stores the tiles.
    await bypass("audit_tiles", () => h.db.deleteFrom("audit_tiles").execute());
    // Then every leaf hash is read at start, and a changed one stops it.
    await bypass("audit_log", () =>
      h.db.updateTable("audit_log").set({ leaf_hash: other.leaf_hash }).where("seq", "=", 260).execute(),
    );
    await expect(started()).rejects.toThrow(
      /stored leaves 0\.\.857 do not reproduce the root of the latest checkpoint \(size 858\)/,
    );
    await bypass("audit_log", () =>
      h.db.updateTable("audit_log").set({ leaf_hash: seq260.leaf_hash }).where("seq", "=", 260).execute(),
    );
    const third = await started();
    expect(third.cp.size).toBe(RECORDS);
    await append(third.audit, TILE_WIDTH);
    await third.cp.checkpoint();
    expect(await storedTiles()).toEqual(await tilesOf(RECORDS + TILE_WIDTH));
    expect(await storedTiles()).toHaveLength(4);

    // Tile 4 stored by someone else with another hash before this checkpointer stores it.
    await append(third.audit, TILE_WIDTH);
    await h.db
      .insertInto("audit_tiles")
      .values({ shard: 0, tile: 4, hash: new Uint8Array(32).fill(7) })
      .execute();
    await expect(third.cp.checkpoint()).rejects.toThrow(
      /tile 4 \(leaves 1024\.\.1279\) is stored with another hash than this log's: a fork/,
    );
    expect(third.cp.fault).toBeInstanceOf(LogIntegrityError);
    expect((await latestCheckpoint(h.db, 0))?.size).toBe(RECORDS + TILE_WIDTH);
  });
});
