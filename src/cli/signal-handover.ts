/**
 * Replaces `from` with `to` as the handler of `signals`, the new one first. Node stops
 * watching a signal when its last listener goes, and a signal that had arrived but was not yet
 * handed to JavaScript (it waits for the next turn of the event loop) goes with the watcher: the
 * other way round, a SIGTERM sent during start-up, just before the app was up, was lost and the
 * server went on serving (test/e2e/serve-signal-start.test.ts, under load).
 */
export function handOverSignals(
  signals: readonly NodeJS.Signals[],
  from: (signal: NodeJS.Signals) => void,
  to: (signal: NodeJS.Signals) => void,
): void {
  for (const s of signals) process.on(s, to);
  for (const s of signals) process.off(s, from);
}
