import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { EmbeddedDatabaseError, PGliteWorker } from "./pglite-worker.js";

describe("PGlite on its own thread", () => {
  let db: PGliteWorker;
  afterAll(async () => {
    await db?.close();
  });

  it("answers queries with parameters and typed rows (int8 as number, timestamptz, bytea)", async () => {
    db = await PGliteWorker.create("memory://");
    await db.query("create table t (id bigint primary key, at timestamptz not null, b bytea)");
    const at = new Date("2026-11-22T06:00:00.123Z");
    const r = await db.query<{ id: number; at: Date; b: Uint8Array }>(
      "insert into t values ($1, $2, $3) returning *",
      [7, at, new Uint8Array([1, 2, 3])],
    );
    expect(r.affectedRows).toBe(1);
    expect(r.rows).toEqual([{ id: 7, at, b: new Uint8Array([1, 2, 3]) }]);
  });

  it("keeps the SQLSTATE of an error and stays usable after it", async () => {
    const err = await db.query("insert into t values (7, now(), null)").catch((e: unknown) => e);
    expect(err).toBeInstanceOf(EmbeddedDatabaseError);
    expect(err).toMatchObject({ code: "23505", message: expect.stringMatching(/duplicate key/) });
    expect((await db.query<{ n: number }>("select count(*)::int as n from t")).rows).toEqual([{ n: 1 }]);
  });

  it("answers queries in the order they were sent", async () => {
    const results = await Promise.all(
      Array.from({ length: 50 }, (_, i) => db.query<{ i: number }>("select $1::int as i", [i])),
    );
    expect(results.map((r) => r.rows[0]!.i)).toEqual(Array.from({ length: 50 }, (_, i) => i));
  });

  it("fails every later query once the thread is gone", async () => {
    const other = await PGliteWorker.create("memory://");
    await other.close();
    await expect(other.query("select 1")).rejects.toThrow(/embedded database thread exited/);
  });

  it("rejects a data directory it cannot open (and leaves no thread running)", async () => {
    await expect(PGliteWorker.create("/proc/version/not-a-dir")).rejects.toBeInstanceOf(Error);
  });

  it("fails the first query after its data directory is deleted, and every later one", async () => {
    const dir = await mkdtemp(join(tmpdir(), "sovr-pglite-gone-"));
    const gone = await PGliteWorker.create(join(dir, "pglite"));
    try {
      await gone.query("create table t (id int primary key)");
      await gone.query("insert into t values (1)");
      await rm(dir, { recursive: true, force: true });
      // Postgres still holds its files open, so this insert "succeeds" into unlinked files:
      // it must not be answered as committed.
      const err = await gone.query("insert into t values (2)").catch((e: unknown) => e);
      expect(err).toBeInstanceOf(EmbeddedDatabaseError);
      expect(err).toMatchObject({
        code: "58030",
        message: expect.stringMatching(/data directory .* is gone/),
      });
      await expect(gone.query("select 1")).rejects.toThrow(/is gone/);
      expect(gone.failure?.message).toMatch(/is gone/);
    } finally {
      await gone.close();
    }
  });

  it("stops a thread that leaves a query unanswered, failing it and every later query", async () => {
    const wedged = await PGliteWorker.create("memory://");
    try {
      wedged.watch(300);
      // Never ends (a recursive CTE with no bound): from outside, a thread that does not answer.
      const endless =
        "with recursive r(n) as (select 1 union all select n + 1 from r) select count(*) from r";
      await expect(wedged.query(endless)).rejects.toThrow(/did not answer within 300 ms; stopped it/);
      await expect(wedged.query("select 1")).rejects.toThrow(/did not answer/);
    } finally {
      await wedged.close();
    }
  });
});
