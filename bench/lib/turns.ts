/**
 * Steps of several searches taking turns (bench/lib/matrix.ts): the targets' maximum-rate
 * searches run side by side, and each step waits for the machine, first come first served.
 * A search that has just stepped asks again behind the others, so the steps go round the
 * targets (A, B, C, A, B, C …) and a drift of the machine during the search phase — another
 * tenant's load, a slower hour — lands on every target's steps alike, as the fixed rates'
 * rotated rounds do, instead of on whichever target happened to be searched then.
 */
export interface Turns {
  /** Runs `task` when every task asked for before it has ended (whether it failed or not). */
  take<T>(task: () => Promise<T>): Promise<T>;
  /** Tasks asked for and not yet ended, the running one included. */
  pending(): number;
}

export function turns(): Turns {
  let tail: Promise<unknown> = Promise.resolve();
  let pending = 0;
  return {
    take<T>(task: () => Promise<T>): Promise<T> {
      pending++;
      const run = tail.then(task, task).finally(() => {
        pending--;
      });
      tail = run.catch(() => undefined);
      return run;
    },
    pending: () => pending,
  };
}
