import { sql } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type TestDatabaseHandle, testDatabases } from "../../test/support/databases.js";
import { migrateToLatest } from "./index.js";

describe.each(testDatabases)("database ($name)", (target) => {
  let h: TestDatabaseHandle;
  beforeAll(async () => {
    h = await target.open();
  });
  afterAll(async () => {
    await h?.close();
  });

  it("applies every migration once; re-running is a no-op", async () => {
    await migrateToLatest(h.db);
    const tables = await sql<{ table_name: string }>`
      select table_name from information_schema.tables where table_schema = 'public' order by 1`.execute(
      h.db,
    );
    expect(tables.rows.map((r) => r.table_name)).toEqual(
      expect.arrayContaining([
        "audit_checkpoints",
        "audit_decisions",
        "audit_log",
        "audit_outcome_seqs",
        "catalog_revisions",
        "policy_bundles",
        "signing_keys",
      ]),
    );
  });

  it("analyzes audit_log on a small sample: no statistics for the envelope, 10 for its keys", async () => {
    const targets = await sql<{ attname: string; target: number }>`
      select attname, attstattarget::int as target from pg_attribute
      where attrelid = 'audit_log'::regclass and attnum > 0 and not attisdropped order by attnum`.execute(
      h.db,
    );
    expect(Object.fromEntries(targets.rows.map((r) => [r.attname, r.target]))).toEqual({
      shard: 10,
      seq: 10,
      kind: 10,
      decision_id: 10,
      recorded_at: 10,
      envelope: 0,
      leaf_hash: 0,
    });
  });

  it("returns int8 as numbers and bytea as bytes on both paths", async () => {
    await h.db
      .insertInto("audit_log")
      .values({
        seq: 0,
        kind: "decision",
        decision_id: "d-1",
        recorded_at: new Date("2026-11-22T00:00:00Z"),
        envelope: "{}",
        leaf_hash: new Uint8Array([1, 2, 3]),
      })
      .execute();
    const row = await h.db.selectFrom("audit_log").selectAll().where("seq", "=", 0).executeTakeFirstOrThrow();
    expect(row.seq).toBe(0);
    expect(typeof row.seq).toBe("number");
    expect(Array.from(row.leaf_hash)).toEqual([1, 2, 3]);
    expect(row.recorded_at.toISOString()).toBe("2026-11-22T00:00:00.000Z");
  });

  it("refuses to update or delete audit log rows", async () => {
    await expect(
      h.db.updateTable("audit_log").set({ envelope: "x" }).where("seq", "=", 0).execute(),
    ).rejects.toThrow(/append-only/);
    await expect(h.db.deleteFrom("audit_log").where("seq", "=", 0).execute()).rejects.toThrow(/append-only/);
    const n = await h.db
      .selectFrom("audit_log")
      .select((eb) => eb.fn.countAll().as("n"))
      .executeTakeFirstOrThrow();
    expect(Number(n.n)).toBe(1);
  });

  it("serialises transactions (no interleaving) under concurrency", async () => {
    await h.db.schema.createTable("t_counter").addColumn("v", "integer").execute();
    await h.db
      .insertInto("t_counter" as never)
      .values({ v: 0 } as never)
      .execute();
    await Promise.all(
      Array.from({ length: 20 }, () =>
        h.db.transaction().execute(async (trx) => {
          await sql`lock table t_counter in exclusive mode`.execute(trx);
          const r = await sql<{ v: number }>`select v from t_counter`.execute(trx);
          await sql`update t_counter set v = ${r.rows[0]!.v + 1}`.execute(trx);
        }),
      ),
    );
    const r = await sql<{ v: number }>`select v from t_counter`.execute(h.db);
    expect(r.rows[0]!.v).toBe(20);
  });
});
