import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type TestDatabaseHandle, testDatabases } from "../../test/support/databases.js";
import { AuditLog } from "./audit-log.js";
import { sampleDecisionIndex } from "./fixtures/records.js";
import { generateSigningKey } from "./keys.js";
import { SEQUENCER_LOCK_KEY, sequencerLockKey } from "./log-shards.js";

const postgres = testDatabases.find((d) => d.name === "postgres");
const enc = new TextEncoder();
let n = 0;
const decision = (tenant: string) => {
  const id = `locked-${n++}`;
  return {
    kind: "decision" as const,
    decisionId: id,
    recordedAt: new Date(),
    tenant,
    encode: (seq: number) => enc.encode(JSON.stringify({ id, seq })),
    index: sampleDecisionIndex(tenant),
  };
};

/**
 * On Postgres a batch without co-committed work is one statement that takes the shard's
 * sequencer lock itself (append-batch.ts): it must wait for a session holding that lock, and
 * number its records after what that session committed while holding it.
 */
describe.skipIf(!postgres)("the one-statement Postgres commit (sequencer lock)", () => {
  let h: TestDatabaseHandle;
  let other: pg.Client;
  beforeAll(async () => {
    h = await postgres!.open();
    other = new pg.Client({ connectionString: h.url });
    await other.connect();
  });
  afterAll(async () => {
    await other?.end();
    await h?.close();
  });

  it("waits for the lock, then numbers its records after the holder's commit", async () => {
    const log = new AuditLog(h.db, h.kind, generateSigningKey(), { batchDelayMs: 0, batchMax: 64 });
    const first = await log.append(decision("acme"));
    expect(sequencerLockKey(0)).toBe(SEQUENCER_LOCK_KEY);

    // Another replica holds the sequencer lock and appends a row meanwhile.
    await other.query(`begin; select pg_advisory_xact_lock(${SEQUENCER_LOCK_KEY})`);
    const pending = log.append(decision("acme"));
    // The append's session is now waiting for the advisory lock (not answered early).
    for (;;) {
      const { rows } = await other.query(
        `select count(*)::int as waiting from pg_locks
         where locktype = 'advisory' and not granted and database = (select oid from pg_database where datname = current_database())`,
      );
      if (rows[0].waiting === 1) break;
      await new Promise((r) => setImmediate(r));
    }
    await other.query(
      `insert into audit_log (shard, seq, kind, decision_id, recorded_at, envelope, leaf_hash)
       values (0, $1, 'decision', 'from-the-other-replica', now(), '{}', '\\x00')`,
      [first.seq + 1],
    );
    await other.query("commit");

    const second = await pending;
    expect(second.seq).toBe(first.seq + 2);
    const { rows } = await other.query("select seq::int from audit_log where shard = 0 order by seq");
    expect(rows.map((r) => r.seq)).toEqual([first.seq, first.seq + 1, first.seq + 2]);
  });
});
