/** Callers are handed their results this many at a time, one macrotask per slice. */
const SETTLE_SLICE = 32;

/**
 * Settles a batch's records in slices of {@link SETTLE_SLICE}, one macrotask each: each caller
 * resumes synchronously into its next record's signing (~0.1 ms of CPU), and a whole batch of
 * them at once would hold the event loop for tens of milliseconds while the commit in flight
 * waits for its replies to be read.
 */
export function settleSliced<T>(batch: readonly T[], settle: (p: T, i: number) => void): void {
  const run = (from: number) => {
    const to = Math.min(batch.length, from + SETTLE_SLICE);
    for (let i = from; i < to; i++) settle(batch[i]!, i);
    if (to < batch.length) setImmediate(run, to);
  };
  run(0);
}
