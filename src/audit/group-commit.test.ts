import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { type TestDatabaseHandle, testDatabases } from "../../test/support/databases.js";
import { canonicalize } from "../encoding/index.js";
import { type AppendRequest, AuditLog } from "./audit-log.js";
import { sampleDecisionIndex } from "./fixtures/records.js";
import { generateSigningKey } from "./keys.js";

const enc = new TextEncoder();
let n = 0;
const decision = (): AppendRequest & { kind: "decision" } => ({
  kind: "decision",
  decisionId: `gc-${n++}`,
  recordedAt: new Date(),
  payload: enc.encode(JSON.stringify({ n })),
  index: sampleDecisionIndex("acme"),
});

describe.each(testDatabases)("AuditLog scheduling ($name)", (target) => {
  let h: TestDatabaseHandle;
  beforeAll(async () => {
    h = await target.open();
  });
  afterAll(async () => {
    await h?.close();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it("commits a record appended while idle at once, without a timer, sharing the statement with its tick", async () => {
    const batches: number[] = [];
    const log = new AuditLog(h.db, h.kind, generateSigningKey(), {
      batchDelayMs: 0,
      batchMax: 64,
      onBatch: (size) => batches.push(size),
    });
    // Timers never fire: the commit must not wait for one.
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout"] });
    const [a, b] = await Promise.all([log.append(decision()), log.append(decision())]);
    expect(b.seq).toBe(a.seq + 1);
    expect(batches).toEqual([2]);
    const c = await log.append(decision());
    expect(batches).toEqual([2, 1]);
    // The stored envelope is its own RFC 8785 form (the Merkle leaf is hashed over it).
    const row = await h.db
      .selectFrom("audit_log")
      .select("envelope")
      .where("seq", "=", c.seq)
      .executeTakeFirstOrThrow();
    expect(row.envelope).toBe(canonicalize(c.envelope));
    expect(canonicalize(JSON.parse(row.envelope))).toBe(row.envelope);
  });

  it("queues records while a commit is in flight and sends them together in the next one", async () => {
    const batches: number[] = [];
    const log = new AuditLog(h.db, h.kind, generateSigningKey(), {
      batchDelayMs: 0,
      batchMax: 64,
      onBatch: (size) => batches.push(size),
    });
    const first = log.append(decision());
    await new Promise((r) => setImmediate(r)); // the first commit has started
    const rest = Array.from({ length: 40 }, () => log.append(decision()));
    const seqs = (await Promise.all([first, ...rest])).map((r) => r.seq);
    expect(batches).toEqual([1, 40]);
    expect(seqs).toEqual(seqs.map((_, i) => seqs[0]! + i));
  });

  it("caps a batch at batchMax and commits the remainder right after", async () => {
    const batches: number[] = [];
    const log = new AuditLog(h.db, h.kind, generateSigningKey(), {
      batchDelayMs: 0,
      batchMax: 16,
      onBatch: (size) => batches.push(size),
    });
    await Promise.all(Array.from({ length: 40 }, () => log.append(decision())));
    expect(batches).toEqual([16, 16, 8]);
  });

  it("with a configured delay, a lone record waits for company that long", async () => {
    const log = new AuditLog(h.db, h.kind, generateSigningKey(), { batchDelayMs: 40, batchMax: 64 });
    const started = performance.now();
    await log.append(decision());
    expect(performance.now() - started).toBeGreaterThanOrEqual(39);
  });

  it("lets an outcome record wait for a decision to ride along with", async () => {
    const batches: number[] = [];
    const log = new AuditLog(h.db, h.kind, generateSigningKey(), {
      batchDelayMs: 0,
      batchMax: 64,
      outcomeDelayMs: 10_000,
      onBatch: (size) => batches.push(size),
    });
    const d = decision();
    await log.append(d);
    const outcome = log.append({
      kind: "outcome",
      decisionId: d.decisionId,
      recordedAt: new Date(),
      payload: enc.encode("{}"),
      outcome: "success",
      endpointId: "sim-eu/chat-small",
    });
    await new Promise((r) => setTimeout(r, 30));
    expect(batches).toEqual([1]);
    await Promise.all([outcome, log.append(decision())]);
    expect(batches).toEqual([1, 2]);
  });
});
