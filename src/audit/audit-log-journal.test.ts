/**
 * The audit log in journal mode (embedded database only): a batch is durable
 * once in the journal and goes into the database behind it; a start replays what the database
 * lacks; listeners hear of leaves once the database holds them; a failed insertion fails closed.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { sql } from "kysely";
import { afterEach, describe, expect, it } from "vitest";
import { openDatabase } from "../db/index.js";
import { AuditLog } from "./audit-log.js";
import { sampleDecisionAppend } from "./fixtures/records.js";
import { AuditJournal } from "./journal.js";
import { generateSigningKey } from "./keys.js";

const cleanup: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

async function setup() {
  const dir = mkdtempSync(join(tmpdir(), "sovr-journal-log-"));
  cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
  const h = await openDatabase({ dataDir: "memory://" });
  cleanup.push(() => h.close());
  const key = generateSigningKey();
  const path = join(dir, "audit.journal");
  const log = (journalInsertMs: number, commitTimeoutMs?: number, journalClearBytes?: number) => {
    const journal = new AuditJournal(path);
    cleanup.push(() => journal.close());
    return new AuditLog(h.db, h.kind, key, {
      batchDelayMs: 0,
      batchMax: 64,
      journal,
      journalInsertMs,
      ...(commitTimeoutMs !== undefined ? { commitTimeoutMs } : {}),
      ...(journalClearBytes !== undefined ? { journalClearBytes } : {}),
    });
  };
  const rows = async () =>
    (await sql<{ seq: number }>`select seq from audit_log order by seq`.execute(h.db)).rows.map((r) =>
      Number(r.seq),
    );
  return { h, log, rows, path };
}

describe("AuditLog with a journal", () => {
  it("acknowledges from the journal and inserts behind it, in order; listeners hear of leaves once inserted", async () => {
    const { log, rows } = await setup();
    const audit = log(3_600_000);
    await audit.open();
    const heard: number[] = [];
    audit.onCommitted((c) => heard.push(...c.map((x) => x.seq)));
    const got = await Promise.all(
      Array.from({ length: 10 }, () => audit.append(sampleDecisionAppend("acme"))),
    );
    expect(got.map((a) => a.seq).sort((a, b) => a - b)).toEqual([...Array(10).keys()]);
    expect(await rows()).toEqual([]);
    expect(heard).toEqual([]);
    await audit.settled();
    expect(await rows()).toEqual([...Array(10).keys()]);
    expect(heard).toEqual([...Array(10).keys()]);
  });

  it("what is journaled while a statement runs waits for its own interval, not for that statement's end", async () => {
    const { h, log } = await setup();
    const insertMs = 1_000;
    const audit = log(insertMs);
    await audit.open();
    const heardAt = new Map<number, number>();
    audit.onCommitted((c) => {
      for (const x of c) heardAt.set(x.seq, performance.now());
    });
    // The database's one connection busy from 100 ms to 2,600 ms: the statement for `a`, due at
    // 1,000 ms, runs until then, and `b` is journaled at 2,000 ms, while it does — a second
    // after `a`'s statement was due, and 600 ms (less than the interval) before it ends.
    const a = await audit.append(sampleDecisionAppend("acme"));
    await new Promise((r) => setTimeout(r, 100));
    const wedged = sql`select pg_sleep(2.5)`.execute(h.db);
    await new Promise((r) => setTimeout(r, 1_900));
    expect(audit.commitStalledMs()).toBeGreaterThan(0);
    const bAt = performance.now();
    const b = await audit.append(sampleDecisionAppend("acme"));
    await wedged;
    await new Promise((r) => setTimeout(r, insertMs + 300));
    expect([...heardAt.keys()]).toEqual([a.seq, b.seq]);
    // Inserted on its own timer (before: at once after a's statement, ~600 ms after it came).
    expect(heardAt.get(b.seq)! - bAt).toBeGreaterThanOrEqual(insertMs - 10);
    expect(heardAt.get(b.seq)! - heardAt.get(a.seq)!).toBeGreaterThan(100);
  });

  it("under a steady stream the journal is emptied once it passes its size bound", async () => {
    const { log, path } = await setup();
    const clearBytes = 16 * 1024;
    const audit = log(20, undefined, clearBytes);
    await audit.open();
    const file = new AuditJournal(path);
    cleanup.push(() => file.close());
    const sizes: number[] = [];
    // A record every 2 ms for 1.5 s: some always arrive while a statement runs, so without a
    // bound the journal would never be found empty (~1.5 KB a record, ~1 MB in all).
    const until = performance.now() + 1_500;
    while (performance.now() < until) {
      await audit.append(sampleDecisionAppend("acme"));
      sizes.push(file.size);
      await new Promise((r) => setTimeout(r, 2));
    }
    await audit.settled();
    expect(file.size).toBe(0);
    const most = Math.max(...sizes);
    expect(most).toBeGreaterThanOrEqual(clearBytes);
    // Emptied along the way, not only at the end: it never grew far past the bound.
    expect(most).toBeLessThan(4 * clearBytes + 64 * 2_048);
    expect(sizes.filter((s, i) => i > 0 && s < sizes[i - 1]!).length).toBeGreaterThan(1);
  });

  it("replays at the next start what was acknowledged but never inserted, with the same seqs and bytes", async () => {
    const { h, log, rows } = await setup();
    const first = log(3_600_000);
    await first.open();
    const acked = await Promise.all(
      Array.from({ length: 5 }, () => first.append(sampleDecisionAppend("acme"))),
    );
    expect(await rows()).toEqual([]);
    // The process "dies" here: nothing inserted. The next start replays the journal.
    const second = log(3_600_000);
    await second.open();
    expect(await rows()).toEqual([0, 1, 2, 3, 4]);
    const stored = await sql<{
      seq: number;
      envelope: string;
    }>`select seq, envelope from audit_log order by seq`.execute(h.db);
    for (const a of acked) {
      const row = stored.rows.find((r) => Number(r.seq) === a.seq)!;
      expect(JSON.parse(row.envelope).signatures[0].sig).toBe(a.envelope.signatures[0]!.sig);
    }
    // And it continues the tenant's sequence from the database's head, not from 1.
    const next = await second.append(sampleDecisionAppend("acme"));
    expect(next.seq).toBe(5);
    expect(next.tenantSeq).toBe(6);
    await second.settled();
    expect(await rows()).toEqual([0, 1, 2, 3, 4, 5]);
  });

  it("with appends off, still puts a journal an earlier run left into the database first", async () => {
    const { h, log, rows, path } = await setup();
    const first = log(3_600_000);
    await first.open();
    await Promise.all(Array.from({ length: 3 }, () => first.append(sampleDecisionAppend("acme"))));
    const journal = new AuditJournal(path);
    cleanup.push(() => journal.close());
    const plain = new AuditLog(h.db, h.kind, generateSigningKey(), {
      batchDelayMs: 0,
      batchMax: 64,
      journal,
      journalAppends: false,
    });
    await plain.open();
    expect(await rows()).toEqual([0, 1, 2]);
    expect(journal.size).toBe(0);
    // Its own appends go straight to the database, after the replayed ones.
    const a = await plain.append(sampleDecisionAppend("acme"));
    expect(a.seq).toBe(3);
    expect(await rows()).toEqual([0, 1, 2, 3]);
    expect(journal.size).toBe(0);
  });

  it("refuses appends before open()", async () => {
    const { log } = await setup();
    const audit = log(20);
    await expect(audit.append(sampleDecisionAppend("acme"))).rejects.toThrow(/not open/);
  });

  it("fails closed once journaled records cannot go into the database", async () => {
    const { h, log } = await setup();
    const audit = log(3_600_000);
    await audit.open();
    await audit.append(sampleDecisionAppend("acme"));
    // Someone else writes seq 0 under the log: the journaled record no longer fits.
    await sql`insert into audit_log (shard, seq, kind, decision_id, recorded_at, envelope, leaf_hash)
      values (0, 0, 'admin', '019a0000-0000-7000-8000-0000000000ff', now(), '{}', '\\x00')`.execute(h.db);
    await expect(audit.settled()).rejects.toThrow(/audit journal/);
    await expect(audit.append(sampleDecisionAppend("acme"))).rejects.toThrow(/audit journal/);
  });

  it("refuses a decision once the database has not taken the backlog for the commit bound, and takes them again after", async () => {
    const { h, log, rows } = await setup();
    const audit = log(1, 200);
    await audit.open();
    await audit.append(sampleDecisionAppend("acme"));
    await audit.settled();
    // Wedge the database: its one connection busy for a while, the next insertion waits behind it.
    const wedged = sql`select pg_sleep(1.2)`.execute(h.db);
    await new Promise((r) => setTimeout(r, 50));
    // Acknowledged from the journal while the bound has not run out…
    await audit.append(sampleDecisionAppend("acme"));
    await new Promise((r) => setTimeout(r, 300));
    // …refused, as a commit without an answer would be, once it has.
    await expect(audit.append(sampleDecisionAppend("acme"))).rejects.toThrow(
      "audit log commit: no answer within 200 ms",
    );
    expect(audit.commitStalledMs()).toBeGreaterThanOrEqual(200);
    await wedged;
    await audit.settled();
    await audit.append(sampleDecisionAppend("acme"));
    await audit.settled();
    expect(await rows()).toEqual([0, 1, 2]);
  });

  it("retries a statement the database fails; refuses decisions once it has failed for the bound; goes on when it takes them", async () => {
    const { h, log, rows } = await setup();
    const audit = log(1, 150);
    await audit.open();
    await sql`create function refuse_test() returns trigger language plpgsql as $$
      begin raise exception 'refused (test)'; end $$`.execute(h.db);
    await sql`create trigger refuse_test before insert on audit_log
      for each statement execute function refuse_test()`.execute(h.db);
    await audit.append(sampleDecisionAppend("acme"));
    await new Promise((r) => setTimeout(r, 400));
    await expect(audit.append(sampleDecisionAppend("acme"))).rejects.toThrow(
      /has not taken its records for 150 ms \(refused \(test\)\); retrying/,
    );
    expect(audit.fault).toBeUndefined();
    // A read that must see every acknowledged record is refused meanwhile, not kept waiting.
    await expect(audit.settled()).rejects.toThrow(/does not take its records \(refused \(test\)\)/);
    expect(await rows()).toEqual([]);
    await sql`drop trigger refuse_test on audit_log`.execute(h.db);
    await audit.settled();
    expect(await rows()).toEqual([0]);
    await audit.append(sampleDecisionAppend("acme"));
    await audit.settled();
    expect(await rows()).toEqual([0, 1]);
  });
});
