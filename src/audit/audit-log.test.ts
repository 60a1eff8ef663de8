import { sql } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type TestDatabaseHandle, testDatabases } from "../../test/support/databases.js";
import { AuditLog } from "./audit-log.js";
import { entryLeafHash } from "./dsse.js";
import { generateSigningKey } from "./keys.js";

const enc = new TextEncoder();
const index = {
  tenant: "acme",
  model: "sim/chat-small",
  endpoint_id: "sim-eu/chat-small",
  outcome: "pending" as const,
  policy_revision: "rev",
  policy_sha256: "sha",
  catalog_revision: "cat",
};

describe.each(testDatabases)("AuditLog group commit ($name)", (target) => {
  let h: TestDatabaseHandle;
  beforeAll(async () => {
    h = await target.open();
  });
  afterAll(async () => {
    await h?.close();
  });

  it("appends concurrent records densely, durably, with the query index in the same commit", async () => {
    const log = new AuditLog(h.db, h.kind, generateSigningKey(), { batchDelayMs: 2, batchMax: 64 });
    const batches: number[] = [];
    const committed: number[] = [];
    const log2 = new AuditLog(h.db, h.kind, generateSigningKey(), {
      batchDelayMs: 1,
      batchMax: 16,
      onBatch: (n) => batches.push(n),
    });
    log2.onCommitted((entries) => committed.push(...entries.map((e) => e.seq)));
    // Two writers (as two replicas would be) appending 300 decisions concurrently.
    const results = await Promise.all(
      Array.from({ length: 300 }, (_, i) =>
        (i % 2 === 0 ? log : log2).append({
          kind: "decision",
          decisionId: `d-${i}`,
          recordedAt: new Date(Date.UTC(2026, 10, 22, 0, 0, 0, i)),
          payload: enc.encode(JSON.stringify({ i })),
          index,
        }),
      ),
    );
    const seqs = results.map((r) => r.seq).sort((a, b) => a - b);
    expect(seqs).toEqual(Array.from({ length: 300 }, (_, i) => i));
    // Group commit actually grouped: fewer transactions than records.
    expect(batches.length).toBeLessThan(150);
    expect(committed.sort((a, b) => a - b)).toEqual(
      results
        .filter((_, i) => i % 2 === 1)
        .map((r) => r.seq)
        .sort((a, b) => a - b),
    );

    const rows = await h.db.selectFrom("audit_log").selectAll().orderBy("seq").execute();
    expect(rows.map((r) => r.seq)).toEqual(seqs);
    for (const [i, r] of results.entries()) {
      const row = rows[r.seq]!;
      expect(row.decision_id).toBe(`d-${i}`);
      expect(Array.from(row.leaf_hash)).toEqual(Array.from(entryLeafHash(JSON.parse(row.envelope))));
      expect(row.recorded_at.toISOString()).toBe(new Date(Date.UTC(2026, 10, 22, 0, 0, 0, i)).toISOString());
    }
    const idx = await h.db.selectFrom("audit_decisions").selectAll().execute();
    expect(idx).toHaveLength(300);
    expect(idx.every((d) => d.outcome === "pending" && d.outcome_seq === null && d.tenant === "acme")).toBe(
      true,
    );

    // Outcomes in later batches update the index; an outcome in the same batch as its decision too.
    const outcome = await log.append({
      kind: "outcome",
      decisionId: "d-0",
      recordedAt: new Date(),
      payload: enc.encode("{}"),
      outcome: "success",
      endpointId: "sim-us/chat-small",
      usage: { input_tokens: 12, output_tokens: 34, cost_micro_usd: 56 },
    });
    const [dec, out] = await Promise.all([
      log.append({
        kind: "decision",
        decisionId: "d-same",
        recordedAt: new Date(),
        payload: enc.encode("{}"),
        index,
      }),
      log.append({
        kind: "outcome",
        decisionId: "d-same",
        recordedAt: new Date(),
        payload: enc.encode("{}"),
        outcome: "failed",
        endpointId: null,
        usage: { input_tokens: 7, output_tokens: null, cost_micro_usd: 0 },
      }),
    ]);
    expect(out!.seq).toBe(dec!.seq + 1);
    const d0 = await h.db
      .selectFrom("audit_decisions")
      .selectAll()
      .where("decision_id", "=", "d-0")
      .executeTakeFirstOrThrow();
    expect(d0).toMatchObject({
      outcome: "success",
      endpoint_id: "sim-us/chat-small",
      outcome_seq: outcome.seq,
      decision_seq: results[0]!.seq,
      // The usage report's columns (usage-report.ts) come from the outcome.
      input_tokens: 12,
      output_tokens: 34,
      cost_micro_usd: 56,
    });
    const same = await h.db
      .selectFrom("audit_decisions")
      .selectAll()
      .where("decision_id", "=", "d-same")
      .executeTakeFirstOrThrow();
    expect(same).toMatchObject({
      outcome: "failed",
      endpoint_id: null,
      decision_seq: dec!.seq,
      outcome_seq: out!.seq,
      input_tokens: 7,
      output_tokens: null,
      cost_micro_usd: 0,
    });
    // Each outcome's tenant entry, for the tenant checks (audit-store.ts), from both paths.
    const outcomeSeqs = await h.db.selectFrom("audit_outcome_seqs").selectAll().orderBy("seq").execute();
    expect(outcomeSeqs).toEqual([
      { tenant: "acme", shard: 0, seq: outcome.seq },
      { tenant: "acme", shard: 0, seq: out!.seq },
    ]);
  });

  it("an outcome updates its decision's row heap-only: no index entry, no dead row for a vacuum's index pass", async () => {
    const log = new AuditLog(h.db, h.kind, generateSigningKey(), { batchDelayMs: 0, batchMax: 64 });
    const stats = async () =>
      (
        await sql<{ upd: number; hot: number }>`select n_tup_upd::int as upd, n_tup_hot_upd::int as hot
          from pg_stat_user_tables where relname = 'audit_decisions'`.execute(h.db)
      ).rows[0]!;
    const before = await stats();
    // As the router writes them: each decision, then its outcome in a later batch.
    for (let i = 0; i < 60; i++) {
      const decisionId = `hot-${i}`;
      await log.append({
        kind: "decision",
        decisionId,
        recordedAt: new Date(),
        payload: enc.encode("{}"),
        index,
      });
      await log.append({
        kind: "outcome",
        decisionId,
        recordedAt: new Date(),
        payload: enc.encode("{}"),
        outcome: "success",
        endpointId: index.endpoint_id,
        usage: { input_tokens: 1, output_tokens: 2, cost_micro_usd: 3 },
      });
    }
    // Statistics reach the view when a session flushes them (at most once a second).
    await expect
      .poll(
        async () => {
          await sql`select pg_stat_force_next_flush()`.execute(h.db);
          return (await stats()).upd - before.upd;
        },
        { timeout: 15_000, interval: 250 },
      )
      .toBeGreaterThanOrEqual(60);
    const after = await stats();
    // A page short of room takes a non-heap-only update now and then (fillfactor leaves room for most).
    expect(after.hot - before.hot).toBeGreaterThanOrEqual(0.9 * (after.upd - before.upd));
  });

  it("fails every record of a batch that cannot be written, and writes none of it", async () => {
    const log = new AuditLog(h.db, h.kind, generateSigningKey(), { batchDelayMs: 5, batchMax: 64 });
    const before = await h.db
      .selectFrom("audit_log")
      .select((eb) => eb.fn.countAll().as("n"))
      .executeTakeFirstOrThrow();
    // A second decision record for an existing id violates the log's unique (decision_id, kind).
    const attempts = await Promise.allSettled([
      log.append({
        kind: "decision",
        decisionId: "fresh-1",
        recordedAt: new Date(),
        payload: enc.encode("{}"),
        index,
      }),
      log.append({
        kind: "decision",
        decisionId: "d-1",
        recordedAt: new Date(),
        payload: enc.encode("{}"),
        index,
      }),
    ]);
    expect(attempts.map((a) => a.status)).toEqual(["rejected", "rejected"]);
    const after = await h.db
      .selectFrom("audit_log")
      .select((eb) => eb.fn.countAll().as("n"))
      .executeTakeFirstOrThrow();
    expect(Number(after.n)).toBe(Number(before.n));
    const fresh = await h.db
      .selectFrom("audit_decisions")
      .select("decision_id")
      .where("decision_id", "=", "fresh-1")
      .execute();
    expect(fresh).toEqual([]);
  });
});
