import { Code, ConnectError, type Interceptor } from "@connectrpc/connect";
import type { Logger } from "../../telemetry/index.js";

/**
 * Errors that reach the edge unmapped — Internal / HTTP 500, "the server is broken" — must not
 * pass silently: each gets one log line with what an operator needs to find the fault, the
 * error's class and stack frames. Never its message: messages of errors nobody anticipated may
 * quote input (V8's `JSON.parse` errors quote the text; a RangeError may carry a value).
 */
export type InternalErrorLog = (err: unknown, where: string) => void;

/** One `error` line per unmapped error: class, stack frames, where (RPC or HTTP route). */
export function internalErrorLog(logger: Logger): InternalErrorLog {
  return (err, where) => {
    // toConnectError keeps the original as `cause`; that is the one worth describing.
    const root = err instanceof ConnectError && err.cause !== undefined ? err.cause : err;
    logger.error(
      { where, errorClass: errorClass(root), stack: frames(root) },
      "internal error: unmapped failure answered as Internal/500",
    );
  };
}

/**
 * Reports every call of an RPC that ends Internal — thrown by a handler or interceptor, or
 * ending a server stream — once. Outermost, so it sees what auth and limits throw as well.
 */
export function internalErrorInterceptor(report: InternalErrorLog): Interceptor {
  // `then`, not an async function awaiting `next`: one promise per call instead of three.
  return (next) => (req) => {
    const where = () => `${req.service.typeName}/${req.method.name}`;
    const failed = (err: unknown): never => {
      reportIfInternal(report, err, where());
      throw err;
    };
    let pending: ReturnType<typeof next>;
    try {
      pending = next(req);
    } catch (err) {
      reportIfInternal(report, err, where());
      return Promise.reject(err);
    }
    return pending.then((res) => {
      if (!res.stream) return res;
      return {
        ...res,
        message: reportStreamEnd(res.message, (err) => reportIfInternal(report, err, where())),
      };
    }, failed);
  };
}

/** connect answers an error that is not a ConnectError as Internal (an abort as Canceled). */
function reportIfInternal(report: InternalErrorLog, err: unknown, where: string): void {
  const code = ConnectError.from(err, Code.Internal).code;
  if (code === Code.Internal || code === Code.Unknown) report(err, where);
}

/**
 * `messages`, with `onError` told of the error that ends them. An iterator object, not an
 * async generator: a generator adds a queued promise and a resumption to every message of
 * every server stream. `return` and `throw` pass to `messages`.
 */
function reportStreamEnd<T>(messages: AsyncIterable<T>, onError: (err: unknown) => void): AsyncIterable<T> {
  return new Reporting(messages[Symbol.asyncIterator](), onError);
}

class Reporting<T> implements AsyncIterableIterator<T> {
  constructor(
    private readonly inner: AsyncIterator<T>,
    private readonly onError: (err: unknown) => void,
  ) {}

  [Symbol.asyncIterator](): this {
    return this;
  }

  // `then`, not an async method awaiting `inner.next()`: one promise per message, not three.
  next(): Promise<IteratorResult<T>> {
    let pending: Promise<IteratorResult<T>>;
    try {
      pending = this.inner.next();
    } catch (err) {
      this.onError(err);
      return Promise.reject(err);
    }
    return pending.then(undefined, this.#failed);
  }

  readonly #failed = (err: unknown): never => {
    this.onError(err);
    throw err;
  };

  async return(value?: unknown): Promise<IteratorResult<T>> {
    try {
      if (this.inner.return) return await this.inner.return(value);
      return { done: true, value: value as T };
    } catch (err) {
      this.onError(err);
      throw err;
    }
  }

  async throw(e?: unknown): Promise<IteratorResult<T>> {
    try {
      if (this.inner.throw) return await this.inner.throw(e);
      throw e;
    } catch (err) {
      this.onError(err);
      throw err;
    }
  }
}

function errorClass(err: unknown): string {
  if (err instanceof Error) return err.constructor.name || err.name;
  return err === null ? "null" : typeof err;
}

/** The stack's `at …` frames only: the first line repeats the message. */
function frames(err: unknown): string | undefined {
  if (!(err instanceof Error) || !err.stack) return undefined;
  return err.stack
    .split("\n")
    .filter((line) => /^\s+at /.test(line))
    .join("\n");
}
