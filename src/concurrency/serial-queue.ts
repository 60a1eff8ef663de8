/**
 * Runs tasks one at a time, in the order they were given: each starts once every task given
 * before it has settled, fulfilled or rejected. A task's outcome goes to its own caller only
 * (one that fails does not stop the next). What it is for: a read that must not land after a
 * later one (a table re-read begun before a change, finishing after the change's own re-read,
 * would put the old rows back), or a check-then-update that two callers must not interleave.
 *
 * @example
 * const reads = new SerialQueue();
 * const refresh = () => reads.run(async () => { rows = await db.selectFrom("t").selectAll().execute(); });
 */
export class SerialQueue {
  #tail: Promise<unknown> = Promise.resolve();

  run<T>(task: () => T | Promise<T>): Promise<T> {
    const run = this.#tail.then(() => task());
    this.#tail = run.catch(() => {});
    return run;
  }
}
