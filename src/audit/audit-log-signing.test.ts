/**
 * When the audit log signs a record: one that holds its caller (a decision) at append, as the
 * caller waits for its commit anyway; an outcome record, which holds nobody, on the next turn
 * of the event loop — after the caller's own turn (its answer sent) — or when its batch is
 * taken, if that comes first; always with the key the log had at append.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type TestDatabaseHandle, testDatabases } from "../../test/support/databases.js";
import type { AppendRequest } from "./append-batch.js";
import { AuditLog } from "./audit-log.js";
import { sampleDecisionAppend } from "./fixtures/records.js";
import { generateSigningKey } from "./keys.js";

/** `req` with its encodings counted (each signing encodes the record once). */
function counted(req: AppendRequest): { req: AppendRequest; encodings: () => number } {
  if (!("encode" in req)) throw new Error("a v2 request was expected");
  let n = 0;
  const encode = req.encode;
  return {
    req: {
      ...req,
      encode: (seq: number) => {
        n++;
        return encode(seq);
      },
    },
    encodings: () => n,
  };
}

/** An outcome record of `decision` (v2), as the router appends one when a request ends. */
function outcomeOf(decision: AppendRequest): AppendRequest {
  if (!("encode" in decision) || decision.kind !== "decision") throw new Error("a v2 decision was expected");
  return {
    kind: "outcome",
    decisionId: decision.decisionId,
    recordedAt: new Date(),
    tenant: decision.tenant,
    encode: (seq: number) =>
      new TextEncoder().encode(JSON.stringify({ outcome: "success", tenant_seq: seq })),
    outcome: "success",
    endpointId: "sim-eu/chat-small",
  };
}

describe.each(testDatabases)("when the audit log signs ($name)", (target) => {
  let h: TestDatabaseHandle;
  beforeAll(async () => {
    h = await target.open();
  });
  afterAll(async () => {
    await h?.close();
  });

  it("signs a decision at append and an outcome after its caller's turn, once each", async () => {
    const log = new AuditLog(h.db, h.kind, generateSigningKey(), { batchDelayMs: 0, batchMax: 64 });
    const plain = sampleDecisionAppend("signing-a");
    const decision = counted(plain);
    const decided = log.append(decision.req);
    expect(decision.encodings()).toBe(1);
    await decided;
    const outcome = counted(outcomeOf(plain));
    const ended = log.append(outcome.req);
    // The caller's turn goes on (it sends its answer) with nothing signed for the outcome…
    expect(outcome.encodings()).toBe(0);
    await Promise.resolve();
    expect(outcome.encodings()).toBe(0);
    // …which is signed on the next turn, before its batch (due later) is taken.
    await new Promise((r) => setImmediate(r));
    expect(outcome.encodings()).toBe(1);
    const appended = await ended;
    expect([decision.encodings(), outcome.encodings()]).toEqual([1, 1]);
    const [row] = await h.db
      .selectFrom("audit_log")
      .select(["envelope", "leaf_hash"])
      .where("seq", "=", appended.seq)
      .execute();
    expect(JSON.parse(row!.envelope)).toEqual(appended.envelope);
    expect(Buffer.from(row!.leaf_hash).equals(Buffer.from(appended.leafHash))).toBe(true);
    expect(appended.tenantSeq).toBe(2);
  });

  it("an outcome whose batch is taken before its turn is signed with the batch", async () => {
    const log = new AuditLog(h.db, h.kind, generateSigningKey(), { batchDelayMs: 0, batchMax: 2 });
    const plain = sampleDecisionAppend("signing-e");
    const outcome = counted(outcomeOf(plain));
    // A full batch (batchMax 2) is taken on the next turn too, queued before the outcome's signing.
    const both = Promise.all([log.append(plain), log.append(outcome.req)]);
    expect(outcome.encodings()).toBe(0);
    const [d, o] = await both;
    expect(outcome.encodings()).toBe(1);
    expect([d.tenantSeq, o.tenantSeq]).toEqual([1, 2]);
  });

  it("signs with the key the log had at append, also when the key changes before the commit", async () => {
    const first = generateSigningKey();
    const second = generateSigningKey();
    const log = new AuditLog(h.db, h.kind, first, { batchDelayMs: 0, batchMax: 64 });
    const before = log.append(sampleDecisionAppend("signing-b"));
    log.setSigner(second);
    const after = log.append(sampleDecisionAppend("signing-b"));
    const [a, b] = await Promise.all([before, after]);
    expect(a.envelope.signatures.map((s) => s.keyid)).toEqual([first.keyId]);
    expect(b.envelope.signatures.map((s) => s.keyid)).toEqual([second.keyId]);
    expect([a.tenantSeq, b.tenantSeq]).toEqual([1, 2]);
  });

  it("fails a record that cannot be encoded alone; the rest of its batch is written", async () => {
    const log = new AuditLog(h.db, h.kind, generateSigningKey(), { batchDelayMs: 0, batchMax: 64 });
    const plain = sampleDecisionAppend("signing-c");
    const decided = log.append(plain);
    const broken = outcomeOf(plain);
    const bad = log.append({
      ...broken,
      encode: () => {
        throw new Error("does not encode");
      },
    } as AppendRequest);
    const good = log.append(sampleDecisionAppend("signing-d"));
    await expect(bad).rejects.toThrow(/does not encode/);
    expect((await decided).tenantSeq).toBe(1);
    expect((await good).tenantSeq).toBe(1);
  });
});
