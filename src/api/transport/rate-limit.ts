import type { IncomingMessage, ServerResponse } from "node:http";
import { Code, ConnectError, type Interceptor } from "@connectrpc/connect";
import type { Principal } from "../../auth/index.js";
import { ACCESS, parseApiKey } from "../../auth/index.js";
import type { RateLimitSettings } from "../../config/index.js";
import { principalKey } from "../grpc/index.js";
import { httpAuthorization } from "./pre-auth.js";

/** Who a call is counted against: the API key that authenticated it, and its tenant. */
export interface Subject {
  readonly keyId: string;
  readonly tenant: string;
}

/** What the interceptor and the HTTP hook need of a request limiter, either scope (cluster-limit.ts). */
export interface RequestLimiter {
  readonly enabled: boolean;
  /** Admits one call (returning its release) or throws {@link RateLimitedError}. */
  acquire(subject: Subject): (() => void) | Promise<() => void>;
}

/**
 * A call refused by a limit. It *is* a ConnectError (ResourceExhausted with a `retry-after`
 * header/trailer in seconds), so the one error boundary passes it through unchanged and the
 * HTTP API turns it into 429.
 */
export class RateLimitedError extends ConnectError {
  constructor(
    readonly scope: "key" | "tenant",
    readonly kind: "rate" | "concurrency" | "tokens",
    readonly retryAfterSeconds: number,
    /** The limit that refused, for the message (e.g. "20000 tokens per minute"). */
    limit?: string,
  ) {
    const who = scope === "key" ? "API key" : "tenant";
    super(
      kind === "rate"
        ? `rate limit of this ${who} exceeded${limit ? ` (${limit})` : ""}; retry in ${retryAfterSeconds} s`
        : kind === "tokens"
          ? `token limit of this ${who} exceeded (${limit}); retry in ${retryAfterSeconds} s`
          : `too many concurrent calls for this ${who}; retry when one ends`,
      Code.ResourceExhausted,
      { "retry-after": String(retryAfterSeconds) },
    );
    // `name` stays "ConnectError": ConnectError's own instanceof check relies on it.
  }

  /** An ordinary prototype check (ConnectError's static check would refuse subclasses). */
  static override [Symbol.hasInstance](v: unknown): boolean {
    return Function.prototype[Symbol.hasInstance].call(RateLimitedError, v);
  }
}

interface Entry {
  /** Tokens left at `at` (ms); refilled lazily on the next touch. */
  tokens: number;
  at: number;
  inflight: number;
}

interface Limit {
  readonly rps: number;
  readonly burst: number;
  readonly concurrent: number;
}

/**
 * Token buckets (rate) and counters (concurrency) per key and per tenant, in one map in
 * least-recently-used order. Memory stays bounded: an entry with nothing in flight whose bucket
 * has refilled is indistinguishable from a new one, so it is dropped (swept at most once per
 * `sweepMs`); and past `maxEntries` the least recently used idle entries go first. Keys come
 * from the key store (callers are authenticated before they are counted), so the map holds at
 * most the live keys and tenants.
 *
 * State is per process: with N replicas behind a balancer a caller gets up to N× the limit
 * (see docs/security.md).
 */
export class RateLimiter implements RequestLimiter {
  readonly #entries = new Map<string, Entry>();
  readonly #key: Limit;
  readonly #tenant: Limit;
  readonly #now: () => number;
  readonly #maxEntries: number;
  readonly #sweepMs: number;
  #lastSweep = 0;

  constructor(
    settings: RateLimitSettings,
    opts: { now?: () => number; maxEntries?: number; sweepMs?: number } = {},
  ) {
    this.#key = { rps: settings.keyRps, burst: settings.keyBurst, concurrent: settings.maxConcurrentPerKey };
    this.#tenant = {
      rps: settings.tenantRps,
      burst: settings.tenantBurst,
      concurrent: settings.maxConcurrentPerTenant,
    };
    this.#now = opts.now ?? (() => performance.now());
    this.#maxEntries = opts.maxEntries ?? 100_000;
    this.#sweepMs = opts.sweepMs ?? 10_000;
  }

  /** True when any limit is configured; otherwise {@link acquire} admits everything for free. */
  get enabled(): boolean {
    const k = this.#key;
    const t = this.#tenant;
    return k.rps > 0 || k.concurrent > 0 || t.rps > 0 || t.concurrent > 0;
  }

  /** Entries held right now (for tests and metrics). */
  get size(): number {
    return this.#entries.size;
  }

  /**
   * Admits one call or throws {@link RateLimitedError}. Both the key's and the tenant's limits
   * are checked before either is charged, so a refused call costs nothing. Returns the release
   * of the concurrency slot (idempotent); call it when the call ends.
   */
  acquire(subject: Subject): () => void {
    if (!this.enabled) return () => {};
    const now = this.#now();
    this.#sweep(now);
    const key = this.#touch(`k:${subject.keyId}`, this.#key, now);
    const tenant = this.#touch(`t:${subject.tenant}`, this.#tenant, now);
    this.#check(key, this.#key, "key");
    this.#check(tenant, this.#tenant, "tenant");
    if (this.#key.rps > 0) key.tokens -= 1;
    if (this.#tenant.rps > 0) tenant.tokens -= 1;
    key.inflight++;
    tenant.inflight++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      key.inflight--;
      tenant.inflight--;
    };
  }

  #check(e: Entry, limit: Limit, scope: "key" | "tenant"): void {
    if (limit.concurrent > 0 && e.inflight >= limit.concurrent)
      throw new RateLimitedError(scope, "concurrency", 1);
    if (limit.rps > 0 && e.tokens < 1) {
      throw new RateLimitedError(scope, "rate", Math.max(1, Math.ceil((1 - e.tokens) / limit.rps)));
    }
  }

  /** The entry, refilled to `now` and moved to the most recently used end. */
  #touch(id: string, limit: Limit, now: number): Entry {
    let e = this.#entries.get(id);
    if (e) {
      this.#entries.delete(id);
      e.tokens = Math.min(limit.burst, e.tokens + ((now - e.at) / 1000) * limit.rps);
      e.at = now;
    } else {
      e = { tokens: limit.burst, at: now, inflight: 0 };
      if (this.#entries.size >= this.#maxEntries) this.#evict(now, true);
    }
    this.#entries.set(id, e);
    return e;
  }

  #sweep(now: number): void {
    if (now - this.#lastSweep < this.#sweepMs) return;
    this.#lastSweep = now;
    this.#evict(now, false);
  }

  /** Drops idle, refilled entries; under pressure (`force`), the least recently used idle one too. */
  #evict(now: number, force: boolean): void {
    for (const [id, e] of this.#entries) {
      if (e.inflight > 0) continue;
      const limit = id.startsWith("k:") ? this.#key : this.#tenant;
      const full = limit.rps <= 0 || e.tokens + ((now - e.at) / 1000) * limit.rps >= limit.burst;
      if (full || force) {
        this.#entries.delete(id);
        if (force) return;
      }
    }
  }
}

/**
 * The key a call is counted against: the key id of a well-formed bearer key (the auth check has
 * already verified it), a JWT's issuer and subject or a certificate's subject (verified too: a
 * workload identity counts as its own key), else one shared "anonymous" key — the only caller
 * when SOVR_AUTH=off, where a client-chosen header must not buy a fresh bucket.
 */
export function callerKeyId(
  authorization: string | null | undefined,
  authOn: boolean,
  principal?: Principal,
): string {
  if (!authOn) return "anonymous";
  const id = principal?.identity;
  if (id?.kind === "jwt") return `jwt:${id.claims.iss ?? ""}:${id.subject}`;
  if (id?.kind === "mtls") return `mtls:${id.subject}`;
  const m = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? "");
  return (m && parseApiKey(m[1]!)?.keyId) ?? "anonymous";
}

/**
 * Limits for gRPC/Connect. Goes after the auth interceptor, so it counts the authenticated
 * principal's key and tenant; public probes (health, reflection) are never limited.
 */
export function rateLimitInterceptor(limiter: RequestLimiter, opts: { authOn: boolean }): Interceptor {
  // Not an async function: a call that is not limited passes straight on (no promise of its own).
  return (next) => (req) => {
    if (!limiter.enabled || ACCESS[`${req.service.typeName}/${req.method.name}`] === "public")
      return next(req);
    return limited(limiter, opts, next, req);
  };
}

async function limited(
  limiter: RequestLimiter,
  opts: { authOn: boolean },
  next: Parameters<Interceptor>[0],
  req: Parameters<Parameters<Interceptor>[0]>[0],
): ReturnType<Parameters<Interceptor>[0]> {
  const principal = req.contextValues.get(principalKey);
  const release = await limiter.acquire({
    keyId: callerKeyId(req.header.get("authorization"), opts.authOn, principal),
    tenant: principal.tenant,
  });
  // A call ends when its context is aborted: connect does that when the handler is done,
  // on cancel and on deadline, for unary and streams alike.
  if (req.signal.aborted) release();
  else req.signal.addEventListener("abort", release, { once: true });
  try {
    const res = await next(req);
    if (!res.stream) {
      release();
      return res;
    }
    return { ...res, message: releasing(res.message, release) };
  } catch (err) {
    release();
    throw err;
  }
}

async function* releasing<T>(messages: AsyncIterable<T>, release: () => void): AsyncGenerator<T> {
  try {
    yield* messages;
  } finally {
    release();
  }
}

/**
 * The same limits on the HTTP/1.1 API. The listener {@link track}s each request's response; the
 * API's authentication hook calls {@link admit} with the principal, which charges the call,
 * releases it when the response closes, and on refusal sets `Retry-After` on the response
 * before throwing (the API's error path then answers 429 with that header).
 */
export class HttpRateLimit {
  readonly #responses = new WeakMap<IncomingMessage, ServerResponse>();

  constructor(
    private readonly limiter: RequestLimiter,
    private readonly opts: { authOn: boolean },
  ) {}

  track(req: IncomingMessage, res: ServerResponse): void {
    if (this.limiter.enabled) this.#responses.set(req, res);
  }

  /** `authenticate` followed by {@link admit}: the HTTP API's authentication hook, limited. */
  after<A extends unknown[]>(
    authenticate: (req: IncomingMessage, ...rest: A) => Promise<Principal>,
  ): (req: IncomingMessage, ...rest: A) => Promise<Principal> {
    return async (req, ...rest) => {
      const principal = await authenticate(req, ...rest);
      await this.admit(req, principal);
      return principal;
    };
  }

  async admit(req: IncomingMessage, principal: Principal): Promise<void> {
    if (!this.limiter.enabled) return;
    const res = this.#responses.get(req);
    let release: () => void;
    try {
      release = await this.limiter.acquire({
        keyId: callerKeyId(httpAuthorization(req.headers).value, this.opts.authOn, principal),
        tenant: principal.tenant,
      });
    } catch (err) {
      if (err instanceof RateLimitedError && res && !res.headersSent)
        res.setHeader("retry-after", String(err.retryAfterSeconds));
      throw err;
    }
    // Not tracked: the rate is charged, but concurrency cannot be counted.
    if (!res || res.writableFinished || res.destroyed) release();
    else res.once("close", release);
  }
}
