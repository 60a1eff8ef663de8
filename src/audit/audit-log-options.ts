import type { CoCommitHook } from "./co-commit.js";
import type { AuditJournal } from "./journal.js";
import type { ShardLayout } from "./log-shards.js";

/** How an AuditLog (audit-log.ts) batches, bounds, shards and journals its appends. */
export interface AuditLogOptions {
  /**
   * Longest a decision record waits for company before its batch starts committing, when no
   * commit is in flight. 0 (the default configuration): the next macrotask, so records appended
   * in the same tick share a statement and a lone record commits at once. While a commit is in
   * flight records queue anyway and go together in the next one.
   */
  batchDelayMs: number;
  batchMax: number;
  /** Longest an outcome record waits for a decision record to share a statement with (default 50). */
  outcomeDelayMs?: number;
  /** Observes each committed batch (size, commit duration) — metrics. */
  onBatch?: (size: number, seconds: number) => void;
  /**
   * Longest `append` waits for its commit before it rejects (default: no bound). A wedged
   * database then refuses requests (Unavailable) instead of holding them; a record whose wait
   * ran out may still commit later, which is safe: its request was refused, and an outcome's
   * retry finds it (unique violation).
   */
  commitTimeoutMs?: number;
  /** Work committed with the records that carry it (budget reservations and settlements). */
  coCommit?: CoCommitHook;
  /**
   * Log shards (log-shards.ts): with more than one, this object routes each record to the shard
   * of its tenant, one {@link AuditLog} per shard (`shard(k)`), each with its own sequence and
   * lock. Default: one shard.
   */
  layout?: ShardLayout;
  /** The shard this log writes (set by the routing log for its shards; default 0). */
  shard?: number;
  /**
   * The embedded database's journal (journal.ts): `open()` inserts what it holds beyond the
   * database (always, so records acknowledged by an earlier run with `journalAppends` are never
   * lost, whatever this run's setting). With `journalAppends`, batches without co-committed work
   * are durable once in it and go into the database behind it, every `journalInsertMs` or at
   * `batchMax` records; `open()` must then run before the first append.
   */
  journal?: AuditJournal;
  /** Appends go through `journal` (default: true when a journal is given). */
  journalAppends?: boolean;
  /** Longest a journaled record waits to go into the database (default JOURNAL_INSERT_MS, 100 ms). */
  journalInsertMs?: number;
  /**
   * How large the journal grows before its backlog is inserted until none is left and it is
   * emptied (default JOURNAL_CLEAR_BYTES, 8 MiB).
   */
  journalClearBytes?: number;
  /** Told once when journaled records can no longer go into the database (the log logs it). */
  onJournalFault?: (fault: Error) => void;
}
