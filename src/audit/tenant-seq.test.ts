/**
 * Record format v2's per-tenant sequence as the log assigns it: dense from 1 per tenant over the
 * whole log, with two writers on one database (the replica case), across a restart, and never
 * gapped by a failed commit. The numbers are read back from the signed payloads.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type TestDatabaseHandle, testDatabases } from "../../test/support/databases.js";
import { openDatabase } from "../db/index.js";
import { AuditLog } from "./audit-log.js";
import { envelopePayload } from "./dsse.js";
import { sampleDecisionAppend, sampleDecisionInput } from "./fixtures/records.js";
import { generateSigningKey } from "./keys.js";
import { buildDecisionRecord, decodeRecord, encodeRecord } from "./record.js";

const index = (tenant: string) => ({
  tenant,
  model: "sim/chat-small",
  endpoint_id: "sim-eu/chat-small",
  outcome: "pending" as const,
  policy_revision: "rev",
  policy_sha256: "sha",
  catalog_revision: "cat",
});

/** A v2 decision of `tenant`, numbered by the log; `id` reuses a decision id when given. */
const decision = sampleDecisionAppend;

/** Every record's (tenant, tenant_seq) in log order, from the signed payloads. */
async function sequences(h: TestDatabaseHandle): Promise<Map<string, number[]>> {
  const rows = await h.db.selectFrom("audit_log").select(["seq", "envelope"]).orderBy("seq").execute();
  const out = new Map<string, number[]>();
  for (const row of rows) {
    const r = decodeRecord(envelopePayload(JSON.parse(row.envelope)));
    if (r.v !== 2) continue;
    const tenant = (r.principal as { tenant: string } | undefined)?.tenant ?? (r.tenant as string);
    out.set(tenant, [...(out.get(tenant) ?? []), r.tenant_seq!]);
  }
  return out;
}

const upTo = (n: number) => Array.from({ length: n }, (_, i) => i + 1);
const tick = () => new Promise((r) => setImmediate(r));

describe.each(testDatabases)("tenant_seq ($name)", (target) => {
  let h: TestDatabaseHandle;
  beforeAll(async () => {
    h = await target.open();
  });
  afterAll(async () => {
    await h?.close();
  });

  it("numbers two interleaved tenants densely from 1, also with two writers on one database", async () => {
    // On Postgres the second writer has its own pool, as another replica would.
    const other = h.url ? await openDatabase({ databaseUrl: h.url, poolSize: 2 }) : undefined;
    try {
      const key = generateSigningKey();
      const a = new AuditLog(h.db, h.kind, key, { batchDelayMs: 1, batchMax: 16 });
      const b = new AuditLog(other?.db ?? h.db, h.kind, key, { batchDelayMs: 0, batchMax: 8 });
      // Rounds of concurrent appends from both writers: each writer's cached heads go stale
      // whenever the other wrote for the tenant, which the commit must notice and repair.
      for (let round = 0; round < 5; round++) {
        const results = await Promise.all(
          Array.from({ length: 40 }, (_, i) =>
            (i % 3 === 0 ? b : a).append(decision(i % 2 === 0 ? "ta" : "tb")),
          ),
        );
        expect(results.every((r) => r.tenantSeq !== undefined)).toBe(true);
      }
      const seqs = await sequences(h);
      expect(seqs.get("ta")).toEqual(upTo(100));
      expect(seqs.get("tb")).toEqual(upTo(100));
      const heads = await h.db.selectFrom("audit_tenant_heads").selectAll().orderBy("tenant").execute();
      expect(heads.map((r) => [r.tenant, Number(r.head)])).toEqual([
        ["ta", 100],
        ["tb", 100],
      ]);
    } finally {
      await other?.close();
    }
  });

  it("continues a tenant's sequence after a restart (a fresh log knows no heads)", async () => {
    const restarted = new AuditLog(h.db, h.kind, generateSigningKey(), { batchDelayMs: 0, batchMax: 8 });
    const [x, y] = await Promise.all([restarted.append(decision("ta")), restarted.append(decision("tc"))]);
    expect(x.tenantSeq).toBe(101);
    expect(y.tenantSeq).toBe(1);
    // The signed payload carries the number the result reports.
    expect(decodeRecord(envelopePayload(x.envelope)).tenant_seq).toBe(101);
  });

  it("leaves no gap when a commit fails, also for records queued behind it", async () => {
    const log = new AuditLog(h.db, h.kind, generateSigningKey(), { batchDelayMs: 0, batchMax: 64 });
    const first = await log.append(decision("tf"));
    expect(first.tenantSeq).toBe(1);
    // A second decision record for an existing id violates the log's unique (decision_id, kind):
    // the batch fails as a whole, after taking numbers 2 and 3 of tenant tf.
    const failed = Promise.allSettled([
      log.append(decision("tf")),
      log.append(decision("tf", decodeRecord(envelopePayload(first.envelope)).decision_id)),
    ]);
    // Queued while that commit is in flight, so signed with number 4 before it fails.
    await tick();
    const queued = log.append(decision("tf"));
    expect((await failed).map((r) => r.status)).toEqual(["rejected", "rejected"]);
    expect((await queued).tenantSeq).toBe(2);
    expect((await log.append(decision("tf"))).tenantSeq).toBe(3);
    expect((await sequences(h)).get("tf")).toEqual([1, 2, 3]);
  });

  it("does not number records appended as raw payloads (v1), and they do not break the sequence", async () => {
    const log = new AuditLog(h.db, h.kind, generateSigningKey(), { batchDelayMs: 0, batchMax: 64 });
    const v1 = buildDecisionRecord(
      sampleDecisionInput({ principal: { tenant: "tv", workload: "w", roles: ["client"] } }),
    );
    const [r1, r2] = await Promise.all([
      log.append({
        kind: "decision",
        decisionId: v1.decision_id,
        recordedAt: new Date(),
        payload: encodeRecord(v1),
        index: index("tv"),
      }),
      log.append(decision("tv")),
    ]);
    expect(r1.tenantSeq).toBeUndefined();
    expect(decodeRecord(envelopePayload(r1.envelope)).v).toBe(1);
    expect(r2.tenantSeq).toBe(1);
  });
});
