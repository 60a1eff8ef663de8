import { CompiledQuery, type Kysely, type Transaction } from "kysely";
import type { Database, DatabaseKind } from "../db/index.js";
import { withDeadline } from "../db/index.js";
import {
  type AppendRequest,
  appendBatch,
  batchParams,
  holdsCaller,
  slotsOf,
  tenantOf,
} from "./append-batch.js";
import type { AuditLogOptions } from "./audit-log-options.js";
import { refusedRequest } from "./co-commit.js";
import type { DsseEnvelope } from "./dsse.js";
import { JournalError } from "./journal.js";
import { JournalBacklog } from "./journal-backlog.js";
import type { SigningKey } from "./keys.js";
import { SEQUENCER_LOCK_KEY, sequencerLockKey, shardOf } from "./log-shards.js";
import { type Pending, signPending, signUnsigned } from "./pending-record.js";
import { settleSliced } from "./settle-sliced.js";
import { renumberFrom, TenantHeads } from "./tenant-heads.js";

export type { AppendRequest, DecisionIndex, OutcomeUsage, RecordBytes } from "./append-batch.js";
export type { AuditLogOptions } from "./audit-log-options.js";

export { SEQUENCER_LOCK_KEY };

/** No parameters, so pg sends it as one simple query: two statements, one round trip. */
const beginAndLock = (shard: number) =>
  CompiledQuery.raw(`begin; select pg_advisory_xact_lock(${sequencerLockKey(shard)})`);

export interface Appended {
  /** The log shard the record went to (0 in a one-shard log). */
  shard: number;
  seq: number;
  leafHash: Uint8Array;
  envelope: DsseEnvelope;
  /** The record's tenant_seq (v2 records). */
  tenantSeq?: number;
  /** Why the hook refused the record's work: its refused form was written. */
  refusal?: unknown;
}

/**
 * Statements a batch may take when the tenant heads it continues keep moving. On Postgres a
 * batch that missed is sent again inside a transaction holding the sequencer lock, so once
 * renumbered from heads read under that lock it matches (three statements at most); on PGlite
 * (one process) only another log object on the same database could move them in between.
 */
const MAX_HEAD_ATTEMPTS = 5;

/**
 * The append-only, signed decision log (DESIGN §8). `append` signs a record (DSSE, Ed25519) that
 * holds its caller (a decision: the prompt waits for it) at once, overlapping a commit in
 * flight; an outcome record, which holds nobody, on the next turn of the event loop — after the
 * caller's answer has gone out — or when its batch is taken, whichever is first. It resolves
 * only once the row is committed (with a journal, `journalAppends`: once its line is
 * in the journal, as durable as the embedded database's commit): the caller may then let the
 * prompt leave.
 *
 * Group commit: one commit at a time. A decision record finding none in flight starts one on
 * the next macrotask (or after `batchDelayMs`, when configured); records arriving meanwhile
 * queue and share the next commit, which starts as soon as the current one returns. Sequence
 * numbers are dense: assigned inside the commit under a Postgres advisory transaction lock, so
 * replicas sharing one database never interleave or leave gaps; PGlite is one process and its
 * driver already runs one statement at a time. Per-tenant numbers (`tenant_seq`, v2 records)
 * are dense too, also across replicas and restarts: see tenant-heads.ts for how.
 */
export class AuditLog {
  #queue: Pending[] = [];
  /** The turn that signs the queued outcome records, when one is due. */
  #signing: NodeJS.Immediate | undefined;
  /** When the commit in flight began (performance.now() ms); undefined when none is. */
  #flushingSince: number | undefined;
  /**
   * How long the commit in flight has been waiting for the database (ms; 0 when none is). A
   * commit that does not end — a lock another session holds, a wedged connection — shows here
   * while a `select 1` may still answer, so readiness asks this too.
   */
  commitStalledMs(now = performance.now()): number {
    if (this.#shards) return Math.max(...this.#shards.map((s) => s.commitStalledMs(now)));
    const since = Math.min(this.#flushingSince ?? now, this.#journal?.insertingSince ?? now);
    return now - since;
  }

  /** The embedded database's journal, when the log has one (journal-backlog.ts). */
  #journal: JournalBacklog | undefined;

  /**
   * With a journal: inserts what it holds beyond the database (records acknowledged before a
   * crash), empties it and, when appends go through it, learns the tenants' heads and the next
   * seq — before the first append. Without one, does nothing. Resolves with how many records
   * went in.
   */
  async open(): Promise<number> {
    if (this.opts.journal && this.#shards) throw new Error("the audit journal takes a one-shard log");
    return (await this.#journal?.open()) ?? 0;
  }

  /** Why journaled records can no longer go into the database (a fork, a refusal), if they cannot. */
  get fault(): Error | undefined {
    return this.#shards ? undefined : this.#journal?.fault;
  }

  /** Resolves once every record acknowledged so far is in the database (audit reads wait for it). */
  async settled(): Promise<void> {
    if (this.#shards) await Promise.all(this.#shards.map((s) => s.settled()));
    else if (this.#journal && this.opts.journalAppends !== false) await this.#journal.settled();
  }

  /** When the oldest queued decision record was queued (undefined: none queued). */
  #urgentSince: number | undefined;
  /** Cancels the pending wake-up, and when it fires (performance.now() ms). */
  #wake: { cancel: () => void; due: number } | undefined;
  #flushing: Promise<void> | undefined;
  readonly #listeners: ((entries: readonly { seq: number; leafHash: Uint8Array }[]) => void)[] = [];
  readonly #heads = new TenantHeads();
  /** With more than one shard: the shards' logs, by shard (this object only routes). */
  readonly #shards: AuditLog[] | undefined;
  readonly #beginAndLock: CompiledQuery;

  constructor(
    private readonly db: Kysely<Database>,
    private readonly dbKind: DatabaseKind,
    private signer: SigningKey,
    private readonly opts: AuditLogOptions,
  ) {
    this.#beginAndLock = beginAndLock(opts.shard ?? 0);
    const n = opts.layout?.shards ?? 1;
    if (opts.journal && n === 1)
      this.#journal = new JournalBacklog(opts.journal, opts, {
        db,
        // Acknowledged records are never renumbered: a refusal of their heads is a fault.
        write: (batch) => this.#write(db, batch as Pending[], undefined, false),
        notify: (committed) => this.#notify(committed),
        setHead: (tenant, head) => this.#heads.setCommitted(tenant, head),
      });
    if (n > 1 && opts.shard === undefined)
      this.#shards = Array.from(
        { length: n },
        (_, k) => new AuditLog(db, dbKind, signer, { ...opts, shard: k }),
      );
  }

  /** How many shards the log has. */
  get shardCount(): number {
    return this.#shards?.length ?? 1;
  }

  /** The log of shard `k` (this object itself for a one-shard log). */
  shard(k: number): AuditLog {
    if (!this.#shards) {
      if (k !== 0) throw new RangeError(`the log has one shard, not ${k + 1}`);
      return this;
    }
    const s = this.#shards[k];
    if (!s) throw new RangeError(`the log has ${this.#shards.length} shards, not ${k + 1}`);
    return s;
  }

  /** The shard `tenant`'s records go to. */
  shardOf(tenant: string): number {
    return this.#shards ? shardOf(this.opts.layout!, tenant) : (this.opts.shard ?? 0);
  }

  /** Switches to a new signing key (rotation); records already signed keep their key id. */
  setSigner(key: SigningKey): void {
    this.signer = key;
    for (const s of this.#shards ?? []) s.setSigner(key);
  }

  get keyId(): string {
    return this.signer.keyId;
  }

  /** Called after every committed batch, in sequence order (Merkle tree, checkpoints). */
  onCommitted(listener: (entries: readonly { seq: number; leafHash: Uint8Array }[]) => void): void {
    if (this.#shards) for (const s of this.#shards) s.onCommitted(listener);
    else this.#listeners.push(listener);
  }

  append(req: AppendRequest): Promise<Appended> {
    if (this.#shards) return this.#shards[this.shardOf(tenantOf(req))]!.append(req);
    if (this.#journal?.fault) return Promise.reject(this.#journal.fault);
    // (With appends off the backlog holds nothing after open(): never stalled.)
    const stalled = this.#journal?.stalled(req, this.opts.commitTimeoutMs);
    if (stalled) return Promise.reject(stalled);
    const slot =
      "tenant" in req ? { tenant: req.tenant, tenantSeq: this.#heads.take(req.tenant) } : undefined;
    const committed = new Promise<Appended>((resolve, reject) => {
      const queuedAt = performance.now();
      const p = { req, slot, queuedAt, resolve, reject, signer: this.signer } as Pending;
      if (holdsCaller(req)) signPending(p);
      else {
        p.unsigned = true;
        this.#signSoon();
      }
      this.#queue.push(p);
      if (holdsCaller(req)) this.#urgentSince ??= queuedAt;
      this.#schedule();
    });
    const bound = this.opts.commitTimeoutMs;
    return bound === undefined ? committed : withDeadline(committed, bound, "audit log commit");
  }

  /** Signs the queued records not signed yet on the next turn of the event loop (once per turn). */
  #signSoon(): void {
    if (this.#signing) return;
    this.#signing = setImmediate(() => {
      this.#signing = undefined;
      if (this.#queue.some((p) => p.unsigned)) this.#queue = signUnsigned(this.#queue);
    });
  }

  /**
   * Runs the batch's statement; when the tenant heads it continues are not the database's,
   * renumbers and re-signs it from the heads the database reported and runs it again.
   */
  async #write(
    db: Kysely<Database> | Transaction<Database>,
    batch: Pending[],
    lockKey?: number,
    /** False for acknowledged (journaled) records: they cannot be re-signed, a refusal is a fault. */
    renumber = true,
  ): Promise<number> {
    for (let attempt = 1; ; attempt++) {
      const { params, tenants } = batchParams(batch, this.opts.shard ?? 0);
      const r = await appendBatch(db, params, tenants, lockKey);
      if (r.ok) return r.n;
      if (!renumber) throw new JournalError("the database's tenant heads are not the journal's");
      if (attempt >= MAX_HEAD_ATTEMPTS)
        throw new Error("tenant sequence heads kept moving; batch not written");
      for (const [tenant, head] of r.heads) this.#heads.setCommitted(tenant, head);
      const bySlot = new Map(batch.map((p) => [p.slot, p]));
      renumberFrom(slotsOf(batch), r.heads, (s) => signPending(bySlot.get(s)!));
      // The one-statement commit released the lock with its answer: another replica may commit
      // for the tenant before the next statement, every time. Try again holding the lock.
      if (lockKey !== undefined) return this.#inTransaction((conn) => this.#write(conn, batch));
    }
  }

  /**
   * Runs `work` in one transaction on one connection. On Postgres the transaction holds the
   * shard's sequencer lock, taken before the first statement's snapshot (READ COMMITTED), or
   * max(seq) could miss another replica's commit: the lock is its own statement, sent with BEGIN
   * in one simple-protocol message (one round trip). On PGlite its one connection is held, so
   * nothing else runs in between.
   */
  #inTransaction<T>(work: (conn: Kysely<Database>) => Promise<T>): Promise<T> {
    return this.db.connection().execute(async (conn) => {
      await conn.executeQuery(this.dbKind === "postgres" ? this.#beginAndLock : CompiledQuery.raw("begin"));
      try {
        const result = await work(conn);
        await conn.executeQuery(CompiledQuery.raw("commit"));
        return result;
      } catch (err) {
        await conn.executeQuery(CompiledQuery.raw("rollback")).catch(() => {});
        throw err;
      }
    });
  }

  /** Arranges for the queue to be flushed when it is due, unless a commit is in flight. */
  #schedule(): void {
    if (this.#flushing || this.#queue.length === 0) return;
    const due = this.#dueAt();
    if (this.#wake) {
      if (due >= this.#wake.due) return;
      this.#wake.cancel();
    }
    const wait = due - performance.now();
    if (wait <= 0) {
      const h = setImmediate(() => this.#startFlush());
      this.#wake = { cancel: () => clearImmediate(h), due };
    } else {
      const h = setTimeout(() => this.#startFlush(), wait);
      this.#wake = { cancel: () => clearTimeout(h), due };
    }
  }

  #startFlush(): void {
    this.#wake?.cancel();
    this.#wake = undefined;
    if (this.#queue.length === 0) return;
    const batch = signUnsigned(this.#queue.splice(0, this.opts.batchMax));
    this.#urgentSince = this.#queue.find((p) => holdsCaller(p.req))?.queuedAt;
    if (batch.length === 0) {
      this.#schedule();
      return;
    }
    this.#flushingSince = performance.now();
    this.#flushing = this.#commit(batch).then((settle) => {
      this.#flushing = undefined;
      this.#flushingSince = undefined;
      // The database works elsewhere (Postgres in its process, PGlite on its own thread): send
      // the next batch before handing this one back, so the callers' work (the next records'
      // signing) overlaps its commit.
      if (this.#queue.length > 0 && this.#dueAt() <= performance.now()) this.#startFlush();
      else this.#schedule();
      settle();
    });
  }

  /** When the queue is due to be flushed (performance.now() ms); the queue is not empty. */
  #dueAt(): number {
    // A decision record holds its caller (the prompt waits for it): due at once, or after the
    // configured delay. Outcome records hold nobody: they wait up to `outcomeDelayMs` and
    // normally ride along in the next decision's statement, so a request costs one write.
    if (this.#queue.length >= this.opts.batchMax) return 0;
    if (this.#urgentSince !== undefined) return this.#urgentSince + this.opts.batchDelayMs;
    return this.#queue[0]!.queuedAt + (this.opts.outcomeDelayMs ?? 50);
  }

  /**
   * Commits `batch` and returns how to hand the results back (settling is the caller's to
   * order). A failed commit rejects every record of the batch.
   */
  async #commit(batch: Pending[]): Promise<() => void> {
    const started = performance.now();
    let firstSeq: number;
    const works = this.opts.coCommit ? batch.filter((p) => p.req.work !== undefined) : [];
    const journal = this.opts.journalAppends === false ? undefined : this.#journal;
    let journaled = false;
    try {
      // Co-committed work, admin records (rare: a change waits for its row, as without a
      // journal) and v1 records (no tenant_seq; the journal takes v2 only) go straight into the
      // database, after every journaled record.
      const direct = works.length > 0 || batch.some((p) => !p.slot || p.req.kind === "admin");
      if (journal && !direct) {
        // Durable once in the journal; the database takes it behind (journal-backlog.ts).
        firstSeq = journal.append(batch);
        journaled = true;
      } else if (works.length > 0) {
        if (journal) await this.settled();
        // The work and the records must commit together, in one transaction.
        firstSeq = await this.#inTransaction(async (conn) => {
          await this.#coCommit(conn, works);
          return this.#write(conn, batch);
        });
      } else {
        if (journal) await this.settled();
        // One statement is its own transaction, so the batch is atomic without BEGIN/COMMIT
        // round trips. PGlite: one process, one connection, statements run one at a time.
        // Postgres: the statement takes the sequencer lock before its snapshot (append-batch.ts).
        firstSeq = await this.#write(
          this.db,
          batch,
          this.dbKind === "postgres" ? sequencerLockKey(this.opts.shard ?? 0) : undefined,
        );
      }
    } catch (err) {
      // Nothing of the batch was written, its numbers included: the queue takes them over.
      this.#renumberQueue();
      return () => settleSliced(batch, (p) => p.reject(err));
    }
    if (journal && !journaled) {
      if (firstSeq !== journal.nextSeq)
        journal.fault ??= new JournalError(
          `committed at seq ${firstSeq}, the journal's next is ${journal.nextSeq}`,
        );
      journal.nextSeq = firstSeq + batch.length;
    }
    for (const s of slotsOf(batch)) this.#heads.setCommitted(s.tenant, s.tenantSeq);
    this.#renumberQueue();
    this.opts.onBatch?.(batch.length, (performance.now() - started) / 1000);
    // Listeners hear of leaves once the database holds them (journaled ones: #insertBacklog).
    if (!journaled) this.#notify(batch.map((p, i) => ({ seq: firstSeq + i, leafHash: p.leaf })));
    return () =>
      settleSliced(batch, (p, i) =>
        p.resolve({
          shard: this.opts.shard ?? 0,
          seq: firstSeq + i,
          leafHash: p.leaf,
          envelope: p.envelope,
          tenantSeq: p.slot?.tenantSeq,
          ...(p.refusal !== undefined ? { refusal: p.refusal } : {}),
        }),
      );
  }

  /** Tells the listeners of leaves now in the database, in sequence order. */
  #notify(committed: readonly { seq: number; leafHash: Uint8Array }[]): void {
    for (const l of this.#listeners) {
      try {
        l(committed);
      } catch (err) {
        // A listener's bug must not wedge the log (the batch is committed; later ones must be
        // too): it surfaces as an uncaught exception, as a throw from here always did.
        queueMicrotask(() => {
          throw err;
        });
      }
    }
  }

  /** Runs the batch's works through the hook; a refused decision is re-signed as its refused form. */
  async #coCommit(db: Kysely<Database>, works: Pending[]): Promise<void> {
    const refusals = await this.opts.coCommit!.run(
      db,
      works.map((p) => p.req.work),
    );
    works.forEach((p, i) => {
      if (refusals[i] === undefined) return;
      p.req = refusedRequest(p.req, refusals[i]);
      p.refusal = refusals[i];
      signPending(p);
    });
  }

  /**
   * Numbers the queued records from the committed heads, re-signing those whose number moved
   * (the batch before them failed, or was renumbered against the database's heads). Runs after
   * every commit, before the next batch is taken from the queue; normally nothing moves.
   */
  #renumberQueue(): void {
    const bySlot = new Map(this.#queue.map((p) => [p.slot, p]));
    // A record not signed yet is signed with its new number when its batch is taken.
    this.#heads.renumber(slotsOf(this.#queue), (s) => {
      const p = bySlot.get(s)!;
      if (!p.unsigned) signPending(p);
    });
  }

  /** Waits until everything appended so far is committed (or failed). */
  async drain(): Promise<void> {
    if (this.#shards) {
      await Promise.all(this.#shards.map((s) => s.drain()));
      return;
    }
    while (this.#queue.length > 0 || this.#flushing || this.#wake) {
      if (this.#wake && !this.#flushing) this.#startFlush();
      await (this.#flushing ?? new Promise((r) => setImmediate(r)));
    }
    await this.settled().catch(() => {});
  }
}
