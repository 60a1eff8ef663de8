// What the embedded database's thread's own tasks share (pglite-checkpoints.mjs,
// pglite-vacuum.mjs): a statement run on the held session, and a check repeated on a timer.
import { parse, protocol } from "@electric-sql/pglite";

/** Runs `text` (simple protocol) while holding the session: the caller holds runExclusive. */
export async function runHeld(db, text) {
  const messages = await db.execProtocolStream(protocol.serialize.query(text), { syncToFs: false });
  return parse.parseResults(messages, db.parsers)[0];
}

/**
 * Runs `task` every `everyMs`, never two at once (a check still running skips the next tick),
 * until the returned function is called; a failure goes to `onError`. The timer does not keep
 * the thread alive.
 */
export function repeat(everyMs, task, onError) {
  let running = false;
  const timer = setInterval(() => {
    if (running) return;
    running = true;
    task()
      .catch(onError)
      .finally(() => {
        running = false;
      });
  }, everyMs);
  timer.unref();
  return () => clearInterval(timer);
}
