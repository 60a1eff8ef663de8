// Checkpoints for the embedded database (run on its thread by pglite-thread.mjs).
//
// PGlite runs Postgres in single-user mode: there is no checkpointer process, and a standalone
// backend never requests a checkpoint itself (Postgres asks for one when the WAL outgrows
// `max_wal_size` only under a postmaster). Left alone, the WAL since the start-up checkpoint is
// never recycled: ~7.4 kB per routed request (13 GB an hour at 500 requests/s) piles up in
// pg_wal until the process stops, and a crash replays all of it at the next start. So the
// thread checks now and then, between statements, and runs CHECKPOINT itself under Postgres's
// own rules: once the WAL since the last checkpoint reaches half of `max_wal_size`, or once it
// is `checkpoint_timeout` old and the WAL has moved (docs/operations.md, "Durability of the
// embedded database").
import { repeat, runHeld as run } from "./pglite-tasks.mjs";

/** How often the thread looks, by default. Postgres's own checkpointer wakes every few seconds. */
export const CHECK_EVERY_MS = 30_000;

/** WAL bytes since the last checkpoint below which an old checkpoint is not redone (idle). */
const MOVED = 64 * 1024;

const DUE = `select pg_wal_lsn_diff(pg_current_wal_insert_lsn(), c.redo_lsn)::float8 as wal,
  extract(epoch from now() - c.checkpoint_time)::float8 as age,
  pg_size_bytes(current_setting('max_wal_size'))::float8 as max_wal,
  (select setting::float8 from pg_settings where name = 'checkpoint_timeout') as timeout
  from pg_control_checkpoint() c`;

/**
 * Whether a checkpoint is due (see the file's head). Never inside a transaction: the session is
 * the one every request shares, so a transaction open between two of its statements is left
 * alone and the next check decides.
 */
export async function checkpointIfDue(db) {
  return db.runExclusive(async () => {
    if (db.isInTransaction()) return undefined;
    const due = (await run(db, DUE)).rows[0];
    const { wal, age, max_wal: maxWal, timeout } = due;
    if (!(wal >= maxWal / 2 || (age >= timeout && wal > MOVED))) return undefined;
    const started = performance.now();
    await run(db, "checkpoint");
    return { walBytes: wal, ms: performance.now() - started };
  });
}

/**
 * Checks every `everyMs` until the returned function is called. `onError` gets a failed check
 * or checkpoint (the thread decides whether the database is still to be trusted).
 */
export function startCheckpoints(db, everyMs, onError) {
  return repeat(everyMs, () => checkpointIfDue(db), onError);
}
