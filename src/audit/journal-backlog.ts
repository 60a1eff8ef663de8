import { type Kysely, sql } from "kysely";
import { type Database, DeadlineError } from "../db/index.js";
import { type AppendRequest, type BatchEntry, holdsCaller } from "./append-batch.js";
import { type AuditJournal, JournalError, journaledEntry, type SignedEntry } from "./journal.js";

/** What the backlog needs of its log (audit-log.ts). */
export interface BacklogLog {
  readonly db: Kysely<Database>;
  /**
   * Writes `batch` in one statement, as signed (a refusal of its tenant heads throws: an
   * acknowledged record cannot be renumbered); resolves with the batch's first seq.
   */
  write(batch: BatchEntry[]): Promise<number>;
  /** Tells the log's listeners of leaves now in the database, in sequence order. */
  notify(committed: readonly { seq: number; leafHash: Uint8Array }[]): void;
  /** Takes the database's `tenant_seq` heads as committed. */
  setHead(tenant: string, head: number): void;
}

/**
 * The log's side of the embedded database's journal (journal.ts): the next `seq` (counted here:
 * the embedded database has one writer), the records acknowledged from the journal but not yet
 * in the database, their insertion behind the acknowledgements (every `insertMs`, or at
 * `batchMax` records, one statement each, each checked to land at the seq counted), and the
 * fault that, once an insertion lands elsewhere or its heads are refused, refuses every later
 * append. A statement the database fails (full, wedged, refusing) wrote nothing: it is retried,
 * with backoff, and while it has not gone in for the log's commit bound the records that hold
 * their callers are refused, as a commit would be ({@link stalled}).
 */
export class JournalBacklog {
  /** The next seq the log gives; known once `open()` ran with appends. */
  nextSeq: number | undefined;
  /** Why journaled records could not go into the database. */
  fault: Error | undefined;
  #entries: BatchEntry[] = [];
  #first = 0;
  #inserting: Promise<void> | undefined;
  #insertingSince: number | undefined;
  #timer: NodeJS.Timeout | undefined;
  /** Set when the backlog was asked to go in while a statement ran (see #insertNow). */
  #again = false;
  /** Why the last attempt at the backlog's statement failed (it is retried after `#backoff` ms). */
  #failing: Error | undefined;
  #backoff = RETRY_FIRST_MS;

  readonly #opts: {
    shard: number;
    batchMax: number;
    insertMs: number;
    clearBytes: number;
    appends: boolean;
    onFault: ((fault: Error) => void) | undefined;
  };

  /** `options`: the log's (audit-log.ts AuditLogOptions), of which the shard and batch size. */
  constructor(
    readonly journal: AuditJournal,
    options: {
      shard?: number;
      batchMax: number;
      journalInsertMs?: number;
      journalClearBytes?: number;
      journalAppends?: boolean;
      onJournalFault?: (fault: Error) => void;
    },
    private readonly log: BacklogLog,
  ) {
    this.#opts = {
      shard: options.shard ?? 0,
      batchMax: options.batchMax,
      insertMs: options.journalInsertMs ?? JOURNAL_INSERT_MS,
      clearBytes: options.journalClearBytes ?? JOURNAL_CLEAR_BYTES,
      appends: options.journalAppends !== false,
      onFault: options.onJournalFault,
    };
  }

  /**
   * Inserts what the journal holds beyond the database (records acknowledged before a crash,
   * with the seqs they were given), empties it, and, when appends go through it, learns the
   * tenants' heads and the next seq. Resolves with how many records went in.
   */
  async open(): Promise<number> {
    const next = Number(
      (
        await sql<{ n: number }>`select coalesce(max(seq) + 1, 0)::int8 as n from audit_log where shard = ${
          this.#opts.shard
        }`.execute(this.log.db)
      ).rows[0]!.n,
    );
    const missing = this.journal.read().entries.filter((e) => e.seq >= next);
    missing.forEach((e, i) => {
      if (e.seq !== next + i)
        throw new JournalError(`audit journal: seq ${e.seq} where ${next + i} was next; not replayed`);
    });
    for (let i = 0; i < missing.length; i += this.#opts.batchMax) {
      const chunk = missing.slice(i, i + this.#opts.batchMax);
      const n = await this.log.write(chunk);
      if (n !== chunk[0]!.seq)
        throw new JournalError(`audit journal: replayed at seq ${n}, not ${chunk[0]!.seq}`);
    }
    this.journal.clear();
    if (!this.#opts.appends) return missing.length;
    const heads = await sql<{
      tenant: string;
      head: number;
    }>`select tenant, head from audit_tenant_heads`.execute(this.log.db);
    for (const h of heads.rows) this.log.setHead(h.tenant, Number(h.head));
    this.nextSeq = next + missing.length;
    return missing.length;
  }

  /** Journals `batch` (durable when this returns) and queues it for the database; returns its first seq. */
  append(batch: readonly SignedEntry[]): number {
    if (this.nextSeq === undefined) throw new Error("the audit journal is not open (AuditLog.open)");
    const first = this.nextSeq;
    this.journal.append(batch, first);
    this.nextSeq += batch.length;
    if (this.#entries.length === 0) this.#first = first;
    for (const p of batch) this.#entries.push(journaledEntry(p));
    // A failing statement is retried on its own schedule, not at every append.
    if (this.#entries.length >= this.#opts.batchMax && !this.#failing) void this.#insertNow();
    else this.#timer ??= setTimeout(() => void this.#insertNow(), this.#opts.insertMs);
    return first;
  }

  /** Since when the backlog's statement has waited for the database, retries included (performance.now() ms). */
  get insertingSince(): number | undefined {
    return this.#insertingSince;
  }

  /**
   * Why a record that holds its caller is refused now: the backlog's statement has not gone in
   * for `bound` ms (it waits, or fails and is retried), so the journal does not grow without
   * bound behind a database that takes nothing, and the caller hears what a commit that long
   * would have told it. Records that hold nobody (outcomes: their prompt has gone) still go in.
   */
  stalled(req: AppendRequest, bound: number | undefined): Error | undefined {
    const since = this.#insertingSince;
    if (bound === undefined || since === undefined || !holdsCaller(req)) return undefined;
    if (performance.now() - since < bound) return undefined;
    return (
      this.#failed(`has not taken its records for ${bound} ms`) ??
      new DeadlineError("audit log commit", bound)
    );
  }

  /** The refusal while the backlog's statement fails (it is retried), naming the database's reason. */
  #failed(what: string): JournalError | undefined {
    const f = this.#failing;
    return (
      f && new JournalError(`audit journal: the database ${what} (${f.message}); retrying`, { cause: f })
    );
  }

  /**
   * Resolves once every journaled record is in the database. Rejects with the fault, if any, or
   * when the database fails the backlog's statement (it stays journaled and is retried): a read
   * that must see every acknowledged record is refused rather than kept waiting.
   */
  async settled(): Promise<void> {
    while (this.#entries.length > 0 || this.#inserting) {
      await this.#insertNow();
      const refused = this.#failed("does not take its records");
      if (refused) throw refused;
    }
    if (this.fault) throw this.fault;
  }

  #insertNow(): Promise<void> {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
    // Asked while a statement runs (a timer, a full batch, a reader): what is left goes in next.
    if (this.#inserting) {
      this.#again = true;
      return this.#inserting;
    }
    this.#inserting = this.#insert()
      .catch((err) => {
        this.#insertingSince = undefined;
        if (this.fault) return;
        this.fault = new JournalError(
          `audit journal: records cannot go into the database (${(err as Error).message}); the journal keeps them for the next start`,
          { cause: err },
        );
        this.#opts.onFault?.(this.fault);
      })
      .finally(() => {
        this.#inserting = undefined;
      });
    return this.#inserting;
  }

  /**
   * Inserts the backlog, a statement of at most `batchMax` records at a time. A statement the
   * database fails wrote nothing: it is tried again after a backoff (RETRY_FIRST_MS doubling to
   * RETRY_MAX_MS), and `insertingSince` keeps the time of its first attempt (see {@link stalled}).
   */
  async #insert(): Promise<void> {
    while (this.#entries.length > 0 && !this.fault) {
      this.#insertingSince ??= performance.now();
      this.#again = false;
      const chunk = this.#entries.slice(0, this.#opts.batchMax);
      const first = this.#first;
      let n: number;
      try {
        n = await this.log.write(chunk);
      } catch (err) {
        // The heads refused: the database is not the log this journal continues.
        if (err instanceof JournalError) throw err;
        this.#failing = err as Error;
        // Unref'd: a stopping server does not wait for a database that refuses (the journal keeps the records).
        this.#timer ??= setTimeout(() => void this.#insertNow(), this.#backoff).unref();
        this.#backoff = Math.min(this.#backoff * 2, RETRY_MAX_MS);
        return;
      }
      this.#entries.splice(0, chunk.length);
      this.#first = first + chunk.length;
      // Per statement: a backlog that keeps coming is not a stalled one.
      this.#insertingSince = undefined;
      this.#failing = undefined;
      this.#backoff = RETRY_FIRST_MS;
      if (n !== first)
        throw new JournalError(
          `the database gave seq ${n} to the record journaled as ${first}: the log was cut or written behind this server (a fork)`,
        );
      this.log.notify(chunk.map((p, i) => ({ seq: first + i, leafHash: p.leaf })));
      // What was journaled while the statement ran waits for its own timer (`insertMs` after
      // the first of it), so a statement's fixed cost is shared by that long's records rather
      // than spent again on ever smaller tails of them — unless it was asked for meanwhile, a
      // full statement's worth waits, or the journal has grown past `clearBytes`: it is emptied
      // only once the database holds all of it, so then the backlog is chased until none is left.
      if (
        !this.#again &&
        this.#entries.length < this.#opts.batchMax &&
        this.journal.bytes < this.#opts.clearBytes
      )
        break;
    }
    // Nothing is journaled between the last insertion's end and here (appends are synchronous).
    if (this.#entries.length === 0) this.journal.clear();
    else if (!this.fault) this.#timer ??= setTimeout(() => void this.#insertNow(), this.#opts.insertMs);
  }
}

/**
 * How long a journaled record waits, at most, to go into the database. The statement's fixed
 * cost (~1.6 ms of the database thread) is shared by what arrived meanwhile: at 500 req/s,
 * 20 ms gave 0.32 ms of the database thread per request, 100 ms 0.19 (bench/findings.md
 * "session 13"); longer gains little (each row's own cost stays). Reads do not wait for it
 * (`settled()` inserts at once).
 */
export const JOURNAL_INSERT_MS = 100;

/**
 * How large the journal may grow before the backlog is inserted until none is left, so that
 * the journal can be emptied (at 500 req/s it grows by ~1.5 MB a second). A start reads back
 * at most about this much (and the records the database lacks, which it inserts).
 */
export const JOURNAL_CLEAR_BYTES = 8 * 1024 * 1024;

/** A failed statement of the backlog is retried after this long, doubling up to RETRY_MAX_MS. */
const RETRY_FIRST_MS = 50;
const RETRY_MAX_MS = 1000;
