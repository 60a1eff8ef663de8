/**
 * The body of an upstream answer, fed by undici's dispatch handler (./http-call.ts) and read by
 * an adapter with `for await`. It replaces undici's `request()` body, a Node Readable: the
 * stream's state machine, its events and its async iterator were ~35 µs of every routed
 * request's 500 req/s profile, for what is a queue of chunks read in order.
 *
 * - Backpressure as a Readable's: past {@link HIGH_WATER_MARK} bytes queued, `push` tells the
 *   handler to pause the connection; reading below it again resumes it.
 * - Leaving a `for await` early does nothing to the body (as `iterator({ destroyOnReturn:
 *   false })`): the caller ends it, by {@link destroy} or {@link discard}.
 * - {@link fail} (the request's error, a timeout, the caller gone) drops what is queued, and the
 *   next read throws its reason, even when the whole answer had arrived.
 */
export class UpstreamBody implements AsyncIterableIterator<Uint8Array> {
  #chunks: Uint8Array[] = [];
  #head = 0;
  #queued = 0;
  #complete = false;
  #error: { reason: unknown } | undefined;
  #waiter: { resolve: (r: IteratorResult<Uint8Array>) => void; reject: (e: unknown) => void } | undefined;
  #paused = false;
  #resume: (() => void) | undefined;
  #discard: { left: number; onEnd: () => void } | undefined;

  /** `abort` stops the request (undici's abort: the connection is closed, `fail` follows). */
  constructor(private readonly abort: (reason: Error) => void) {}

  /** undici's resume, given with the headers. */
  set resume(fn: () => void) {
    this.#resume = fn;
  }

  /** Destroyed by the reader, or failed: nothing more is read. */
  get destroyed(): boolean {
    return this.#error !== undefined;
  }

  /** Every byte arrived and was read. */
  get readableEnded(): boolean {
    return this.#complete && this.#queued === 0 && this.#head === this.#chunks.length;
  }

  // ---- The handler's side ----

  /** A chunk arrived; false: pause the connection until {@link resume} is called. */
  push(chunk: Uint8Array): boolean {
    if (this.#error) return false;
    const d = this.#discard;
    if (d) {
      d.left -= chunk.length;
      if (d.left < 0) this.destroy();
      return true;
    }
    const w = this.#waiter;
    if (w) {
      this.#waiter = undefined;
      w.resolve({ value: chunk, done: false });
      return true;
    }
    this.#chunks.push(chunk);
    this.#queued += chunk.length;
    if (this.#queued >= HIGH_WATER_MARK) this.#paused = true;
    return !this.#paused;
  }

  /** The answer is complete. */
  end(): void {
    if (this.#complete || this.#error) return;
    this.#complete = true;
    const w = this.#waiter;
    if (w) {
      this.#waiter = undefined;
      w.resolve({ value: undefined, done: true });
    }
    this.#ended();
  }

  /** The request failed (or was aborted) with `reason`: queued chunks are dropped. */
  fail(reason: unknown): void {
    if (this.#error) return;
    this.#error = { reason };
    this.#chunks = [];
    this.#head = 0;
    this.#queued = 0;
    const w = this.#waiter;
    if (w) {
      this.#waiter = undefined;
      w.reject(reason);
    }
    this.#ended();
  }

  /** A discarding read is told once of the end. */
  #ended(): void {
    const d = this.#discard;
    this.#discard = undefined;
    d?.onEnd();
  }

  // ---- The reader's side ----

  [Symbol.asyncIterator](): this {
    return this;
  }

  next(): Promise<IteratorResult<Uint8Array>> {
    if (this.#error) return Promise.reject(this.#error.reason);
    if (this.#head < this.#chunks.length) {
      const chunk = this.#chunks[this.#head]!;
      this.#chunks[this.#head++] = EMPTY;
      this.#queued -= chunk.length;
      if (this.#head === this.#chunks.length) {
        this.#chunks = [];
        this.#head = 0;
      }
      if (this.#paused && this.#queued < HIGH_WATER_MARK) {
        this.#paused = false;
        this.#resume?.();
      }
      return Promise.resolve({ value: chunk, done: false });
    }
    if (this.#complete) return Promise.resolve({ value: undefined, done: true });
    if (this.#waiter) return Promise.reject(new Error("upstream body: one read at a time"));
    return new Promise((resolve, reject) => {
      this.#waiter = { resolve, reject };
    });
  }

  /** Leaving a `for await`: the body stays as it is (see the class comment). */
  return(): Promise<IteratorResult<Uint8Array>> {
    return Promise.resolve({ value: undefined, done: true });
  }

  /** Stops the request unless it completed; later reads throw. */
  destroy(): void {
    if (this.#error) return;
    const complete = this.#complete;
    const reason = new Error("upstream body destroyed by its reader");
    this.fail(reason);
    if (!complete) this.abort(reason);
  }

  /**
   * Reads the rest of the answer for nothing: `onEnd` once it completed or failed, the request
   * stopped (destroyed) when more than `limit` bytes follow.
   */
  discard(limit: number, onEnd: () => void): void {
    if (this.#error || this.#complete) {
      if (!this.#error) this.fail(new Error("upstream body discarded"));
      onEnd();
      return;
    }
    this.#discard = { left: limit - this.#queued, onEnd };
    this.#chunks = [];
    this.#head = 0;
    this.#queued = 0;
    if (this.#discard.left < 0) {
      this.destroy();
      return;
    }
    if (this.#paused) {
      this.#paused = false;
      this.#resume?.();
    }
  }
}

/** What a Readable queues before it pauses its source (Node's default for byte streams). */
export const HIGH_WATER_MARK = 64 * 1024;

const EMPTY = new Uint8Array(0);
