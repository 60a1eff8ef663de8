import { type Dispatcher, Pool, errors as undiciErrors } from "undici";
import { AbortEmitter } from "./abort-emitter.js";
import { classifyStatus, parseRetryAfter, UpstreamError } from "./errors.js";
import type { UpstreamCallOptions } from "./types.js";
import { UpstreamBody } from "./upstream-body.js";

/**
 * Keep-alive connection pools per upstream origin, shared by every adapter. A request never
 * creates a client: the first call to an origin creates its pool, later calls reuse it.
 */
export class PoolSet {
  readonly #pools = new Map<string, Pool>();

  constructor(private readonly connections = 64) {}

  get(origin: string, connectTimeoutMs: number): Pool {
    let pool = this.#pools.get(origin);
    if (!pool) {
      pool = new Pool(origin, {
        connections: this.connections,
        connectTimeout: connectTimeoutMs,
        keepAliveTimeout: 30_000,
        // Our own timers (first token, idle) govern; undici's would fire without our reasons.
        headersTimeout: 0,
        bodyTimeout: 0,
        pipelining: 1,
      });
      this.#pools.set(origin, pool);
    }
    return pool;
  }

  async close(): Promise<void> {
    await Promise.all([...this.#pools.values()].map((p) => p.destroy()));
    this.#pools.clear();
  }
}

export interface OpenedResponse {
  status: number;
  /** The answer's bytes in order (./upstream-body.ts). */
  body: UpstreamBody;
  /** Re-arms the idle timer (not the first-token timer); call on every chunk. */
  touch(): void;
  /** Switches from the first-token to the idle timeout (after the first content arrives). */
  gotFirstToken(): void;
  /** Stops the timers and detaches from the caller's signal. */
  done(): void;
  /**
   * Ends the call once the caller stops reading. `complete`: the stream's terminal event
   * (`[DONE]`, `message_stop`) was read, so what is left of the body is its end (normally already
   * received): it is read to its end rather than destroyed, which keeps the connection in the
   * pool. Bounded: at most {@link DRAIN_LIMIT_BYTES}, and the call's timers and the caller's
   * signal stay armed until the body ends. Otherwise (error, caller gone) the body is destroyed
   * at once.
   */
  release(complete: boolean): void;
}

/** What may follow a stream's terminal event before the body is destroyed instead. */
export const DRAIN_LIMIT_BYTES = 64 * 1024;

/**
 * POSTs JSON to `url` with our timeouts: connect (pool), first token (from send until the
 * first content), idle (between chunks afterwards). Maps transport failures and non-2xx
 * statuses to {@link UpstreamError}; the body of an error response is read for nothing but
 * its length, so provider error text (which may quote the prompt) never reaches our logs.
 *
 * On undici's `dispatch` with a handler of our own: the body goes into an {@link UpstreamBody},
 * not a Readable, and of the answer's headers only `retry-after` is ever read (on a 429).
 */
export async function postJson(
  pools: PoolSet,
  url: URL,
  headers: Record<string, string>,
  payload: string,
  opts: UpstreamCallOptions,
): Promise<OpenedResponse> {
  const pool = pools.get(url.origin, opts.connectTimeoutMs);
  const ac = new AbortEmitter();
  let timeoutClass: "timeout_first_token" | "timeout_idle" | undefined;
  let phase: "timeout_first_token" | "timeout_idle" = "timeout_first_token";
  let timer: NodeJS.Timeout | undefined;
  const arm = () => {
    if (timer) clearTimeout(timer);
    const ms = phase === "timeout_first_token" ? opts.firstTokenTimeoutMs : opts.idleTimeoutMs;
    timer = setTimeout(() => {
      timeoutClass = phase;
      ac.abort(new UpstreamError(phase, `upstream ${phase.replace("timeout_", "")} timeout after ${ms} ms`));
    }, ms);
  };
  // Per chunk: restart the same timer rather than allocate a new one. Only the idle timer:
  // the first-token timer counts from the request, so events without content (Anthropic's
  // pings, a role-only chunk) cannot keep a stalled upstream alive past it.
  const touch = () => {
    if (timer && phase === "timeout_idle") timer.refresh();
  };
  const onCallerAbort = () => ac.abort(new UpstreamError("aborted", "caller cancelled"));
  if (opts.signal?.aborted) onCallerAbort();
  opts.signal?.addEventListener("abort", onCallerAbort, { once: true });
  const done = () => {
    if (timer) clearTimeout(timer);
    timer = undefined;
    opts.signal?.removeEventListener("abort", onCallerAbort);
  };
  arm();

  try {
    const res = await dispatch(pool, url, headers, payload, ac);
    if (res.status < 200 || res.status >= 300) {
      // Drain without keeping the text: it may echo the prompt.
      for await (const _ of res.body) {
        /* discard */
      }
      done();
      const errorClass = classifyStatus(res.status);
      throw new UpstreamError(
        errorClass,
        `upstream answered HTTP ${res.status}`,
        res.status,
        res.status === 429 ? parseRetryAfter(headerValue(res.rawHeaders, "retry-after")) : undefined,
      );
    }
    return {
      status: res.status,
      body: res.body,
      touch,
      gotFirstToken: () => {
        phase = "timeout_idle";
        arm();
      },
      done,
      release: (complete) => {
        const body = res.body;
        if (!complete || body.destroyed) {
          done();
          body.destroy();
        } else if (body.readableEnded) done();
        else body.discard(DRAIN_LIMIT_BYTES, done);
      },
    };
  } catch (err) {
    done();
    throw toUpstreamError(err, timeoutClass, ac);
  }
}

/**
 * Sends the request; resolves with the status and raw headers once they arrive, the body
 * following into `body`. `ac` aborting stops the request (before or after its headers) and
 * fails the body with its reason.
 */
function dispatch(
  pool: Pool,
  url: URL,
  headers: Record<string, string>,
  payload: string,
  ac: AbortEmitter,
): Promise<{ status: number; rawHeaders: Buffer[]; body: UpstreamBody }> {
  return new Promise((resolve, reject) => {
    let abort: ((reason: Error) => void) | undefined;
    let opened = false;
    const body = new UpstreamBody((reason) => abort?.(reason));
    const onAbort = () => {
      const reason = ac.reason as Error;
      abort?.(reason);
      body.fail(reason);
      if (!opened) reject(reason);
    };
    if (ac.aborted) return reject(ac.reason);
    ac.once("abort", onAbort);
    const handler: Dispatcher.DispatchHandler = {
      onConnect(a) {
        abort = a;
        if (ac.aborted) a(ac.reason as Error);
      },
      onHeaders(status, rawHeaders, resume) {
        opened = true;
        body.resume = resume;
        resolve({ status, rawHeaders: rawHeaders as Buffer[], body });
        return true;
      },
      onData(chunk) {
        return body.push(chunk);
      },
      // The abort listener stays: an abort after the answer arrived (the caller gone while it is
      // read) still fails the body, as a Readable's destroy did; after `done()` nothing aborts.
      onComplete() {
        body.end();
      },
      onError(err) {
        ac.off("abort", onAbort);
        if (opened) body.fail(err);
        else reject(err);
      },
    };
    pool.dispatch(
      {
        path: url.pathname + url.search,
        method: "POST",
        headers: { "content-type": "application/json", ...headers },
        body: payload,
      },
      handler,
    );
  });
}

/** The value of header `name` (lower case) in undici's raw list, or its values when repeated. */
function headerValue(raw: readonly Buffer[], name: string): string | string[] | undefined {
  let out: string | string[] | undefined;
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const k = raw[i]!;
    if (k.length !== name.length || k.toString("latin1").toLowerCase() !== name) continue;
    const v = raw[i + 1]!.toString("latin1");
    out = out === undefined ? v : Array.isArray(out) ? [...out, v] : [out, v];
  }
  return out;
}

/** Maps whatever the transport threw to an {@link UpstreamError} with the right class. */
export function toUpstreamError(
  err: unknown,
  timeoutClass?: "timeout_first_token" | "timeout_idle",
  signal?: { readonly aborted: boolean; readonly reason: unknown },
): UpstreamError {
  if (err instanceof UpstreamError) return err;
  if (signal?.aborted && signal.reason instanceof UpstreamError) return signal.reason;
  if (timeoutClass)
    return new UpstreamError(timeoutClass, `upstream ${timeoutClass} timeout`, undefined, undefined);
  if (err instanceof undiciErrors.ConnectTimeoutError) {
    return new UpstreamError("timeout_connect", "upstream connect timeout", undefined, undefined, {
      cause: err,
    });
  }
  const code = (err as { code?: string }).code;
  if (code === "ECONNREFUSED" || code === "ENOTFOUND" || code === "EAI_AGAIN" || code === "ECONNRESET") {
    return new UpstreamError("connect", `upstream connection failed (${code})`, undefined, undefined, {
      cause: err,
    });
  }
  if (err instanceof undiciErrors.SocketError || code === "UND_ERR_SOCKET") {
    return new UpstreamError("stream_broken", "upstream connection lost", undefined, undefined, {
      cause: err,
    });
  }
  return new UpstreamError("connect", "upstream request failed", undefined, undefined, { cause: err });
}
