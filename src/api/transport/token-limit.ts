import type { RateLimitSettings } from "../../config/index.js";
import type { TokenCharge, TokenGate, TokenSubject } from "../../routing/index.js";
import { RateLimitedError } from "./rate-limit.js";

interface Bucket {
  /** Tokens left at `at` (ms); below 0 after a call used more than its estimate (a debt). */
  tokens: number;
  at: number;
}

interface Side {
  readonly scope: "key" | "tenant";
  readonly tpm: number;
  readonly prefix: string;
}

/**
 * Tokens per minute per API key and per tenant (SOVR_TOKEN_LIMIT_TPM,
 * SOVR_TENANT_TOKEN_LIMIT_TPM), one process's count (SOVR_RATE_LIMIT_SCOPE=replica).
 *
 * A token bucket per key and per tenant holding at most one minute's tokens, refilled
 * continuously at tpm / 60 per second. A call is admitted when each bucket holds its estimate
 * (or, for an estimate larger than a minute's tokens, when the bucket is full: such a call
 * always passes alone); both are charged the estimate, and when the call ends the difference to
 * its actual usage is given back or taken (a bucket may go below zero: the next calls wait for
 * the debt to refill). A refused call charges nothing; Retry-After is the time until the
 * bucket holds the estimate again.
 */
export class TokenLimiter implements TokenGate {
  readonly #buckets = new Map<string, Bucket>();
  readonly #sides: readonly Side[];
  readonly #now: () => number;
  readonly #maxEntries: number;

  constructor(settings: RateLimitSettings, opts: { now?: () => number; maxEntries?: number } = {}) {
    this.#sides = [
      { scope: "key" as const, tpm: settings.keyTpm ?? 0, prefix: "k:" },
      { scope: "tenant" as const, tpm: settings.tenantTpm ?? 0, prefix: "t:" },
    ].filter((s) => s.tpm > 0);
    this.#now = opts.now ?? (() => performance.now());
    this.#maxEntries = opts.maxEntries ?? 100_000;
  }

  get enabled(): boolean {
    return this.#sides.length > 0;
  }

  /** Tokens left in the subject's key (or tenant) bucket now; for tests. */
  available(scope: "key" | "tenant", id: string): number | undefined {
    const side = this.#sides.find((s) => s.scope === scope);
    return side && this.#bucket(side, id, this.#now()).tokens;
  }

  charge(subject: TokenSubject, estimate: number): TokenCharge {
    const now = this.#now();
    const held = this.#sides.map((side) => ({
      side,
      id: side.scope === "key" ? subject.keyId : subject.tenant,
    }));
    for (const { side, id } of held) {
      const b = this.#bucket(side, id, now);
      const need = Math.min(estimate, side.tpm);
      if (b.tokens < need) {
        const seconds = Math.max(1, Math.ceil(((need - b.tokens) * 60) / side.tpm));
        throw new RateLimitedError(side.scope, "tokens", seconds, `${side.tpm} tokens per minute`);
      }
    }
    for (const { side, id } of held) this.#bucket(side, id, now).tokens -= estimate;
    let settled = false;
    return {
      settle: (actual) => {
        if (settled) return;
        settled = true;
        const t = this.#now();
        for (const { side, id } of held) {
          const b = this.#bucket(side, id, t);
          b.tokens = Math.min(side.tpm, b.tokens + estimate - actual);
        }
      },
    };
  }

  /** The bucket refilled to `now` (a new one starts full); bounded by dropping full ones. */
  #bucket(side: Side, id: string, now: number): Bucket {
    const key = side.prefix + id;
    let b = this.#buckets.get(key);
    if (b) {
      b.tokens = Math.min(side.tpm, b.tokens + ((now - b.at) * side.tpm) / 60_000);
      b.at = now;
      return b;
    }
    if (this.#buckets.size >= this.#maxEntries) this.#dropFull(now);
    b = { tokens: side.tpm, at: now };
    this.#buckets.set(key, b);
    return b;
  }

  /** A full bucket is the same as none: drop those (the map holds at most the busy subjects). */
  #dropFull(now: number): void {
    for (const [key, b] of this.#buckets) {
      const side = this.#sides.find((s) => key.startsWith(s.prefix))!;
      if (b.tokens + ((now - b.at) * side.tpm) / 60_000 >= side.tpm) this.#buckets.delete(key);
    }
    // Still full of busy subjects: the oldest goes (its callers get a fresh minute).
    if (this.#buckets.size >= this.#maxEntries) this.#buckets.delete(this.#buckets.keys().next().value!);
  }
}
