import { Code, ConnectError } from "@connectrpc/connect";
import { type Kysely, sql } from "kysely";
import type { Database } from "../../db/index.js";

/** What a replica holds of one subject's current window. */
interface Lease {
  /** Window number: floor(database time in ms / windowMs). */
  window: number;
  /** Units leased and not yet spent; below 0 after a call used more than it was charged. */
  left: number;
  /** Local time (ms) the window ends at; the lease is void after. */
  endsAt: number;
  /**
   * What the shared row had left when a lease last fell short (Infinity until then). Within a
   * window the row only grows, so a larger amount is refused here without asking again.
   */
  rest: number;
}

interface Counted {
  window: number;
  used: number;
  nowMs: number;
}

/** The database time in ms and the window it falls in, in SQL. */
const NOW_MS = sql`(extract(epoch from clock_timestamp()) * 1000)::int8`;

/**
 * Cluster-wide counts (SOVR_RATE_LIMIT_SCOPE=cluster): for each subject (a key's or tenant's
 * requests or tokens) and each fixed window of `windowMs` on the DATABASE's clock, one counter
 * row in `rate_limit_windows` holds the units every replica has leased. A replica takes units
 * from its local lease and, when that runs short, leases more: `leasePercent` of the window's
 * limit at a time (at least what it needs), only while the row stays at or under the limit; the
 * last lease of a window takes whatever is left if that covers the need.
 *
 * So the units spent in a window never exceed the limit: a unit is in the row before any
 * replica spends it. Leased units a replica does not spend before the window ends are lost,
 * so admissions may fall short of the limit by at most what the replicas still hold:
 * `replicas × (lease − 1)` for requests. Corrections after the call (tokens used beyond the
 * estimate) are taken from the local lease, and from the next lease when it is short.
 */
export class LeasedWindows {
  readonly #held = new Map<string, Lease>();
  /** The lease in flight per subject: one at a time, the other takes wait for it. */
  readonly #leasing = new Map<string, Promise<number | undefined>>();
  readonly #db: Kysely<Database>;
  readonly #windowMs: number;
  readonly #leasePercent: number;
  readonly #now: () => number;
  #lastWindow = -1;

  constructor(db: Kysely<Database>, opts: { windowMs: number; leasePercent: number; now?: () => number }) {
    this.#db = db;
    this.#windowMs = opts.windowMs;
    this.#leasePercent = opts.leasePercent;
    this.#now = opts.now ?? (() => performance.now());
  }

  /** The per-window limit for a rate (units per second, or per minute with `perMs` 60 000). */
  limitFor(rate: number, perMs: number): number {
    return rate <= 0 ? 0 : Math.max(1, Math.floor((rate * this.#windowMs) / perMs + 1e-9));
  }

  /**
   * Spends `amount` (≤ `limit`) of `subject`'s window: undefined when taken, else the ms until
   * the window ends (when it can be tried again).
   */
  async take(subject: string, limit: number, amount: number): Promise<number | undefined> {
    // Counts only this call's own leases: waiting for another's is progress (it grants or
    // refuses, and a refusal is remembered in `rest`).
    for (let leases = 0; leases < 4; ) {
      const h = this.#current(subject);
      if (h && h.left >= amount) {
        h.left -= amount;
        return undefined;
      }
      const need = Math.min(limit, amount - (h?.left ?? 0));
      if (h && need > h.rest) return h.endsAt - this.#now();
      // One lease per subject in flight: concurrent takes share it instead of each leasing
      // (which would leave up to one unspent lease per waiting call, not per replica).
      const inFlight = this.#leasing.get(subject);
      if (inFlight) {
        await inFlight;
        continue;
      }
      leases++;
      const leasing = this.#leaseInto(subject, limit, need);
      this.#leasing.set(subject, leasing);
      let refused: number | undefined;
      try {
        refused = await leasing;
      } finally {
        this.#leasing.delete(subject);
      }
      if (refused !== undefined) return refused;
    }
    throw new ConnectError("rate limit counts are changing too fast; retry", Code.Unavailable);
  }

  /** Leases for `subject` into the local lease; the ms until the window ends when refused. */
  async #leaseInto(subject: string, limit: number, need: number): Promise<number | undefined> {
    const lease = Math.min(limit, Math.max(need, Math.ceil((limit * this.#leasePercent) / 100)));
    const got = await this.#lease(subject, limit, need, lease);
    const now = this.#now();
    const window = got.window;
    if (window < 0) return undefined;
    let l = this.#current(subject);
    if (!l || l.window !== window) {
      l = { window, left: 0, endsAt: now + ((window + 1) * this.#windowMs - got.nowMs), rest: Infinity };
      this.#held.set(subject, l);
    }
    if ("retryAfterMs" in got) {
      l.rest = got.rest;
      return got.retryAfterMs;
    }
    l.left += got.granted;
    return undefined;
  }

  /** Gives back (delta > 0) or takes (delta < 0) units of the subject's current lease, locally. */
  adjust(subject: string, delta: number): void {
    const h = this.#current(subject);
    if (h) h.left += delta;
  }

  #current(subject: string): Lease | undefined {
    const h = this.#held.get(subject);
    if (h && this.#now() >= h.endsAt) {
      this.#held.delete(subject);
      return undefined;
    }
    return h;
  }

  /** Leases `lease` units, or failing that whatever is left if it covers `need`. */
  async #lease(
    subject: string,
    limit: number,
    need: number,
    lease: number,
  ): Promise<
    | { window: number; granted: number; nowMs: number }
    | { window: number; nowMs: number; retryAfterMs: number; rest: number }
  > {
    try {
      const win = sql`floor(extract(epoch from clock_timestamp()) * 1000 / ${this.#windowMs})::int8`;
      const first = await sql<Counted>`
        insert into rate_limit_windows as r (subject, window_start, used)
        values (${subject}, ${win}, ${lease})
        on conflict (subject, window_start) do update set used = r.used + excluded.used
          where r.used + excluded.used <= ${limit}
        returning r.window_start as "window", r.used, ${NOW_MS} as "nowMs"`.execute(this.#db);
      if (first.rows[0]) return this.#granted(first.rows[0], lease);
      for (let tries = 0; tries < 4; tries++) {
        const seen = (
          await sql<Counted>`
            select window_start as "window", used, ${NOW_MS} as "nowMs" from rate_limit_windows
            where subject = ${subject} and window_start = ${win}`.execute(this.#db)
        ).rows[0];
        if (!seen) break;
        const rest = limit - Number(seen.used);
        if (rest < need) {
          const [window, nowMs] = [Number(seen.window), Number(seen.nowMs)];
          return { window, nowMs, rest, retryAfterMs: (window + 1) * this.#windowMs - nowMs };
        }
        const cas = await sql<Counted>`
          update rate_limit_windows set used = used + ${rest}
          where subject = ${subject} and window_start = ${seen.window} and used = ${seen.used}
          returning window_start as "window", used, ${NOW_MS} as "nowMs"`.execute(this.#db);
        if (cas.rows[0]) return this.#granted(cas.rows[0], rest);
      }
      return { window: -1, granted: 0, nowMs: 0 };
    } catch (err) {
      throw new ConnectError(
        "rate limit counts unavailable (database)",
        Code.Unavailable,
        undefined,
        undefined,
        err,
      );
    }
  }

  #granted(row: Counted, granted: number): { window: number; granted: number; nowMs: number } {
    const window = Number(row.window);
    if (window !== this.#lastWindow) {
      this.#lastWindow = window;
      // Once per window per replica: rows of windows before the last are never read again.
      void sql`delete from rate_limit_windows where window_start < ${window - 1}`
        .execute(this.#db)
        .catch(() => {});
    }
    return { window, granted, nowMs: Number(row.nowMs) };
  }
}
