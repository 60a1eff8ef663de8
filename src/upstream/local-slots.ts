import { UpstreamError } from "./errors.js";

interface Waiter<T> {
  resolve: (slot: T) => void;
  timer: NodeJS.Timeout;
}

/**
 * A bounded number of concurrent local sequences (slots) with a bounded wait: a caller gets a
 * free slot at once, else waits in FIFO order at most `queueMs`, else is refused with
 * `local_saturated` so the router falls over to the next endpoint (docs/routing.md).
 */
export class SlotPool<T> {
  readonly #free: T[];
  readonly #waiting: Waiter<T>[] = [];

  constructor(
    slots: readonly T[],
    private readonly queueMs: number,
  ) {
    this.#free = [...slots];
  }

  /** Slots in use or waited for, for metrics and tests. */
  get busy(): boolean {
    return this.#free.length === 0;
  }

  /** A free slot; the caller must `release` it. Throws UpstreamError `local_saturated` or `aborted`. */
  acquire(signal?: AbortSignal): Promise<T> {
    const slot = this.#free.pop();
    if (slot !== undefined) return Promise.resolve(slot);
    if (this.queueMs <= 0) return Promise.reject(saturated(this.queueMs));
    return new Promise<T>((resolve, reject) => {
      const entry = {
        resolve: (s: T) => {
          signal?.removeEventListener("abort", onAbort);
          resolve(s);
        },
        timer: setTimeout(() => {
          this.#drop(entry);
          signal?.removeEventListener("abort", onAbort);
          reject(saturated(this.queueMs));
        }, this.queueMs),
      };
      const onAbort = () => {
        this.#drop(entry);
        clearTimeout(entry.timer);
        reject(new UpstreamError("aborted", "the caller went away while waiting for a local slot"));
      };
      signal?.addEventListener("abort", onAbort, { once: true });
      this.#waiting.push(entry);
    });
  }

  /** Returns a slot: to the longest waiter, else to the free list. */
  release(slot: T): void {
    const next = this.#waiting.shift();
    if (next === undefined) {
      this.#free.push(slot);
      return;
    }
    clearTimeout(next.timer);
    next.resolve(slot);
  }

  #drop(entry: Waiter<T>): void {
    const i = this.#waiting.indexOf(entry);
    if (i >= 0) this.#waiting.splice(i, 1);
  }
}

function saturated(queueMs: number): UpstreamError {
  return new UpstreamError("local_saturated", `every local slot stayed busy for ${queueMs} ms`, 503);
}
