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

  it("commits when another replica moves the tenant's head before each of its statements", async () => {
    const log = new AuditLog(h.db, h.kind, generateSigningKey(), { batchDelayMs: 0, batchMax: 64 });
    const tenant = "moving-heads";
    const first = await log.append(decision(tenant));
    expect(first.tenantSeq).toBe(1);

    // Another replica on two sessions: one holds the sequencer lock; once this log's statement
    // waits for it, the other queues behind that statement, and the holder moves the tenant's
    // head and commits. The queued session gets the lock as soon as the statement lets go of
    // it, so every statement this log sends finds the head moved, unless the log holds the lock
    // across its retry. (Advisory lock waiters are granted in the order they queued.)
    const second = new pg.Client({ connectionString: h.url });
    await second.connect();
    const sessions = [other, second];
    const pids = await Promise.all(
      sessions.map(async (c) => (await c.query("select pg_backend_pid() as pid")).rows[0].pid as number),
    );
    const lock = `begin; select pg_advisory_xact_lock(${SEQUENCER_LOCK_KEY})`;
    const waiting = async (holder: pg.Client, pid: number | "the log") => {
      const { rows } = await holder.query(
        `select pid from pg_locks where locktype = 'advisory' and not granted
         and database = (select oid from pg_database where datname = current_database())`,
      );
      return rows.some((r) => (pid === "the log" ? !pids.includes(r.pid) : r.pid === pid));
    };
    let settled = false;
    let holder = 0;
    await sessions[holder]!.query(lock);
    const pending = log.append(decision(tenant)).finally(() => {
      settled = true;
    });
    let moved = 0;
    try {
      for (;;) {
        const held = sessions[holder]!;
        while (!settled && !(await waiting(held, "the log"))) await new Promise((r) => setImmediate(r));
        if (settled) break;
        const next = 1 - holder;
        const queued = sessions[next]!.query(lock);
        while (!(await waiting(held, pids[next]!))) await new Promise((r) => setImmediate(r));
        await held.query("update audit_tenant_heads set head = head + 1 where tenant = $1", [tenant]);
        moved++;
        await held.query("commit");
        await queued;
        holder = next;
      }
      await sessions[holder]!.query("commit");
      const appended = await pending;
      // It missed twice (its one statement, then its first under the lock) and committed.
      expect(moved).toBe(2);
      expect(appended.tenantSeq).toBe(1 + moved + 1);
      const { rows } = await other.query("select head::int from audit_tenant_heads where tenant = $1", [
        tenant,
      ]);
      expect(rows[0].head).toBe(appended.tenantSeq);
    } finally {
      await second.end();
    }
  });
});
