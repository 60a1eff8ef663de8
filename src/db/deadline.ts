/** Thrown when a bounded wait (a commit, a readiness check, a shutdown step) ran out of time. */
export class DeadlineError extends Error {
  constructor(
    readonly what: string,
    readonly ms: number,
    /** The work that ran out of time: not cancelled, it may still succeed or fail later. */
    readonly work?: Promise<unknown>,
  ) {
    super(`${what}: no answer within ${ms} ms`);
    this.name = "DeadlineError";
  }
}

/**
 * `work`, or a {@link DeadlineError} after `ms`, whichever comes first. The work is not
 * cancelled (a wedged database cannot be asked to stop); only the wait for it is bounded, so a
 * caller is answered and a slot is freed. The timer does not keep the process alive.
 */
export function withDeadline<T>(work: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new DeadlineError(what, ms, work)), ms);
    timer.unref();
  });
  return Promise.race([work, expired]).finally(() => clearTimeout(timer));
}
