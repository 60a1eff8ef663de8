import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type TestDatabaseHandle, testDatabases } from "../../test/support/databases.js";
import { AuditLog, envelopePayload, generateSigningKey } from "../audit/index.js";
import { openDatabase } from "../db/index.js";
import { BudgetLedger } from "./budget-ledger.js";
import { BudgetStore } from "./budget-store.js";
import type { BudgetRefusal, HoldWork } from "./types.js";

const enc = new TextEncoder();
const dec = new TextDecoder();
let n = 0;
const NOW = Date.UTC(2026, 10, 30, 12);

/** A v2-style decision append carrying a reservation of `usd` micro-USD and `tokens`. */
function held(tenant: string, keyId: string, usd: number, tokens: number, decisionId = `bl-${n++}`) {
  const work: HoldWork = { kind: "hold", decisionId, tenant, keyId, timeMs: NOW, usdMicros: usd, tokens };
  const index = (outcome: "pending" | "denied") => ({
    tenant,
    model: "sim/chat-small",
    endpoint_id: null,
    outcome,
    policy_revision: "rev",
    policy_sha256: "sha",
    catalog_revision: "cat",
  });
  return {
    kind: "decision" as const,
    decisionId,
    recordedAt: new Date(NOW),
    tenant,
    encode: (seq: number) => enc.encode(JSON.stringify({ decisionId, seq, routed: true })),
    index: index("pending"),
    work,
    refused: (r: unknown) => ({
      encode: (seq: number) =>
        enc.encode(JSON.stringify({ decisionId, seq, denied: (r as BudgetRefusal).scope.period })),
      index: index("denied"),
    }),
  };
}

function logOn(h: { db: TestDatabaseHandle["db"]; kind: TestDatabaseHandle["kind"] }, batchMax = 7) {
  return new AuditLog(h.db, h.kind, generateSigningKey(), {
    batchDelayMs: 0,
    batchMax,
    coCommit: new BudgetLedger(),
  });
}

async function usage(h: TestDatabaseHandle, tenant: string) {
  const rows = await h.db.selectFrom("budget_usage").selectAll().where("tenant", "=", tenant).execute();
  return rows.map((r) => ({
    key: r.key_id,
    period: r.period,
    usd: Number(r.usd_micros),
    tokens: Number(r.tokens),
  }));
}

describe.each(testDatabases)("budget ledger in the log's commits ($name)", (target) => {
  let h: TestDatabaseHandle;
  let store: BudgetStore;
  beforeAll(async () => {
    h = await target.open();
    store = new BudgetStore(h.db);
  });
  afterAll(async () => {
    await h?.close();
  });

  it("grants exactly the reservations that fit, in log order; the rest become denials in the same batches", async () => {
    await store.set({ tenant: "t1", keyId: "", period: "day", usdMicros: 10_000 });
    const log = logOn(h);
    const results = await Promise.all(
      Array.from({ length: 40 }, () => log.append(held("t1", "k1", 1000, 10))),
    );
    const granted = results.filter((r) => r.refusal === undefined);
    expect(granted).toHaveLength(10);
    // The first ten in log order got it (checked one after the other).
    const bySeq = [...results].sort((a, b) => a.seq - b.seq);
    expect(bySeq.slice(0, 10).every((r) => r.refusal === undefined)).toBe(true);
    const refused = bySeq[10]!;
    expect(refused.refusal).toEqual({
      scope: { tenant: "t1", keyId: "", period: "day" },
      limit: { usdMicros: 10_000 },
    });
    // What was signed and stored is the denial, and the index says so.
    expect(JSON.parse(dec.decode(envelopePayload(refused.envelope)))).toMatchObject({ denied: "day" });
    const denied = await h.db
      .selectFrom("audit_decisions")
      .select((eb) => eb.fn.countAll<number>().as("n"))
      .where("tenant", "=", "t1")
      .where("outcome", "=", "denied")
      .executeTakeFirstOrThrow();
    expect(Number(denied.n)).toBe(30);
    expect(await usage(h, "t1")).toEqual([{ key: "", period: "day", usd: 10_000, tokens: 100 }]);
  });

  it("checks the key's budget and the tenant's, names the narrowest, and counts tokens", async () => {
    await store.set({ tenant: "t2", keyId: "", period: "month", tokens: 1000 });
    await store.set({ tenant: "t2", keyId: "k1", period: "day", usdMicros: 5000 });
    const log = logOn(h);
    const a = await log.append(held("t2", "k1", 4000, 100));
    expect(a.refusal).toBeUndefined();
    const b = await log.append(held("t2", "k1", 2000, 100));
    expect(b.refusal).toEqual({
      scope: { tenant: "t2", keyId: "k1", period: "day" },
      limit: { usdMicros: 5000 },
    });
    // Another key has only the tenant's token budget: 900 left.
    expect((await log.append(held("t2", "k2", 99_999, 900))).refusal).toBeUndefined();
    expect((await log.append(held("t2", "k2", 0, 1))).refusal).toEqual({
      scope: { tenant: "t2", keyId: "", period: "month" },
      limit: { tokens: 1000 },
    });
  });

  it("settles with the outcome: the window moves by actual − reserved, once", async () => {
    await store.set({ tenant: "t3", keyId: "", period: "day", usdMicros: 3000 });
    const log = logOn(h);
    const first = held("t3", "", 2000, 50);
    expect((await log.append(first)).refusal).toBeUndefined();
    expect((await log.append(held("t3", "", 2000, 50))).refusal).toBeDefined();
    const outcome = (usd: number) => ({
      kind: "outcome" as const,
      decisionId: first.decisionId,
      recordedAt: new Date(NOW),
      tenant: "t3",
      encode: (seq: number) => enc.encode(JSON.stringify({ o: first.decisionId, seq, usd })),
      outcome: "success" as const,
      endpointId: "e",
      work: { kind: "settle", decisionId: first.decisionId, usdMicros: usd, tokens: 20 },
    });
    await log.append(outcome(300));
    expect(await usage(h, "t3")).toEqual([{ key: "", period: "day", usd: 300, tokens: 20 }]);
    // A retried outcome whose first append did commit: refused (one outcome per decision), and
    // its settlement rolls back with it: nothing moves twice.
    await expect(log.append(outcome(100))).rejects.toThrow();
    expect(await usage(h, "t3")).toEqual([{ key: "", period: "day", usd: 300, tokens: 20 }]);
    expect((await log.append(held("t3", "", 2000, 50))).refusal).toBeUndefined();
  });

  it("rolls a reservation back with a batch that fails", async () => {
    await store.set({ tenant: "t4", keyId: "", period: "day", usdMicros: 1000 });
    const log = logOn(h);
    const ok = held("t4", "", 400, 1);
    await log.append(ok);
    // The same decision id again: the batch's insert fails (unique), and so does its reservation.
    await expect(log.append(held("t4", "", 400, 1, ok.decisionId))).rejects.toThrow();
    expect(await usage(h, "t4")).toEqual([{ key: "", period: "day", usd: 400, tokens: 1 }]);
    expect((await log.append(held("t4", "", 600, 1))).refusal).toBeUndefined();
  });

  it.skipIf(target.name !== "postgres")(
    "two logs on one database (replicas) never spend twice: 200 concurrent reservations, exactly 37 granted",
    async () => {
      await store.set({ tenant: "t5", keyId: "", period: "day", usdMicros: 37 * 1000 });
      const other = await openDatabase({ databaseUrl: h.url!, poolSize: 4 });
      try {
        const logs = [logOn(h, 16), logOn(other, 16)];
        const results = await Promise.all(
          Array.from({ length: 200 }, (_, i) => logs[i % 2]!.append(held("t5", "k", 1000, 1))),
        );
        expect(results.filter((r) => r.refusal === undefined)).toHaveLength(37);
        expect(await usage(h, "t5")).toEqual([{ key: "", period: "day", usd: 37_000, tokens: 37 }]);
      } finally {
        await other.close();
      }
    },
  );
});
