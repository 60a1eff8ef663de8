import type { Kysely } from "kysely";
import type { RateLimitSettings } from "../../config/index.js";
import type { Database } from "../../db/index.js";
import type { TokenCharge, TokenGate, TokenSubject } from "../../routing/index.js";
import { LeasedWindows } from "./leased-windows.js";
import { RateLimitedError, RateLimiter, type RequestLimiter, type Subject } from "./rate-limit.js";

const seconds = (ms: number) => Math.max(1, Math.ceil(ms / 1000));

function windowsFor(db: Kysely<Database>, s: RateLimitSettings): LeasedWindows {
  return new LeasedWindows(db, { windowMs: s.windowMs ?? 60_000, leasePercent: s.leasePercent ?? 5 });
}

/**
 * Request limits shared by every replica on one Postgres (SOVR_RATE_LIMIT_SCOPE=cluster): per
 * key and per tenant, at most `rps × window` requests per window (src/api/transport/
 * leased-windows.ts states the bound). Concurrency limits stay per replica: a call in flight is
 * a connection on this process.
 */
export class ClusterRateLimiter implements RequestLimiter {
  readonly #local: RateLimiter;
  readonly #windows: LeasedWindows;
  readonly #key: number;
  readonly #tenant: number;
  readonly #settings: RateLimitSettings;

  constructor(settings: RateLimitSettings, db: Kysely<Database>) {
    this.#settings = settings;
    this.#local = new RateLimiter({ ...settings, keyRps: 0, tenantRps: 0 });
    this.#windows = windowsFor(db, settings);
    this.#key = this.#windows.limitFor(settings.keyRps, 1000);
    this.#tenant = this.#windows.limitFor(settings.tenantRps, 1000);
  }

  get enabled(): boolean {
    return this.#local.enabled || this.#key > 0 || this.#tenant > 0;
  }

  async acquire(subject: Subject): Promise<() => void> {
    const release = this.#local.acquire(subject);
    try {
      if (this.#key > 0) {
        const wait = await this.#windows.take(`rk:${subject.keyId}`, this.#key, 1);
        if (wait !== undefined)
          throw new RateLimitedError(
            "key",
            "rate",
            seconds(wait),
            `${this.#settings.keyRps}/s, cluster-wide`,
          );
      }
      if (this.#tenant > 0) {
        const wait = await this.#windows.take(`rt:${subject.tenant}`, this.#tenant, 1);
        if (wait !== undefined) {
          // The key's request stays unspent in this replica's lease.
          if (this.#key > 0) this.#windows.adjust(`rk:${subject.keyId}`, 1);
          throw new RateLimitedError(
            "tenant",
            "rate",
            seconds(wait),
            `${this.#settings.tenantRps}/s, cluster-wide`,
          );
        }
      }
    } catch (err) {
      release();
      throw err;
    }
    return release;
  }
}

/**
 * Token limits shared by every replica (SOVR_RATE_LIMIT_SCOPE=cluster): per key and per tenant,
 * `tpm × window / 60 s` tokens per window. A call is charged its estimate (capped at the
 * window's limit) from the shared windows; the correction after the call stays in this
 * replica's lease (a refund is spent here; a shortfall is taken from the next lease).
 */
export class ClusterTokenLimiter implements TokenGate {
  readonly #windows: LeasedWindows;
  readonly #sides: readonly { scope: "key" | "tenant"; prefix: string; limit: number; tpm: number }[];

  constructor(settings: RateLimitSettings, db: Kysely<Database>) {
    this.#windows = windowsFor(db, settings);
    this.#sides = [
      { scope: "key" as const, prefix: "tk:", tpm: settings.keyTpm ?? 0 },
      { scope: "tenant" as const, prefix: "tt:", tpm: settings.tenantTpm ?? 0 },
    ]
      .map((s) => ({ ...s, limit: this.#windows.limitFor(s.tpm, 60_000) }))
      .filter((s) => s.limit > 0);
  }

  get enabled(): boolean {
    return this.#sides.length > 0;
  }

  async charge(subject: TokenSubject, estimate: number): Promise<TokenCharge> {
    const taken: string[] = [];
    for (const side of this.#sides) {
      const id = side.prefix + (side.scope === "key" ? subject.keyId : subject.tenant);
      const amount = Math.min(estimate, side.limit);
      const wait = await this.#windows.take(id, side.limit, amount);
      if (wait !== undefined) {
        for (const t of taken) this.#windows.adjust(t, estimate);
        throw new RateLimitedError(
          side.scope,
          "tokens",
          seconds(wait),
          `${side.tpm} tokens per minute, cluster-wide`,
        );
      }
      // An estimate beyond the window's limit: the rest is a debt of this replica's lease.
      if (amount < estimate) this.#windows.adjust(id, amount - estimate);
      taken.push(id);
    }
    let settled = false;
    return {
      settle: (actual) => {
        if (settled) return;
        settled = true;
        for (const id of taken) this.#windows.adjust(id, estimate - actual);
      },
    };
  }
}
