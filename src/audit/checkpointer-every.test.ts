/**
 * The checkpointer signs by count: once `every` records are uncovered a checkpoint follows,
 * also for the records committed while the previous signing ran (they do not wait for the
 * interval timer).
 */
import { afterAll, describe, expect, it, vi } from "vitest";
import { testDatabases } from "../../test/support/databases.js";
import { AuditLog } from "./audit-log.js";
import { latestCheckpoint } from "./audit-store.js";
import { Checkpointer } from "./checkpointer.js";
import { sampleDecisionAppend } from "./fixtures/records.js";
import { generateSigningKey } from "./keys.js";
import { publishSigningKey } from "./signing-keys.js";

const EVERY = 4;

describe.each(testDatabases)("checkpointer every N records (%s)", (database) => {
  const cleanup: (() => Promise<unknown>)[] = [];
  afterAll(async () => {
    for (const c of cleanup.reverse()) await c().catch(() => {});
  });

  it("signs the records committed during a signing once it ends, without the timer", async () => {
    const h = await database.open();
    cleanup.push(() => h.close());
    const key = generateSigningKey();
    await publishSigningKey(h.db, key);
    const audit = new AuditLog(h.db, h.kind, key, { batchDelayMs: 0, batchMax: EVERY });
    // The timer would sign after an hour: only the count can sign within this test.
    const cp = new Checkpointer(h.db, h.kind, audit, key, {
      origin: "test.example/every",
      every: EVERY,
      intervalMs: 3_600_000,
    });
    cleanup.push(() => cp.stop());
    await cp.start();
    const total = 5 * EVERY + 1;
    await Promise.all(Array.from({ length: total }, () => audit.append(sampleDecisionAppend("acme"))));
    await audit.drain();
    // Batches commit while the first batch's signing runs; the count is taken again after it,
    // so the last checkpoint leaves fewer than EVERY records behind.
    await vi.waitFor(
      async () => {
        const latest = await latestCheckpoint(h.db, 0);
        expect(total - (latest?.size ?? 0)).toBeLessThan(EVERY);
      },
      { timeout: 10_000, interval: 20 },
    );
    expect(cp.size).toBe(total);
  });
});
