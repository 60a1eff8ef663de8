/**
 * Budgets as admins set them (`sovr budgets`, BudgetService), and which tenants have any: the
 * router takes a reservation only for those, so a tenant without budgets pays nothing for them.
 */

import type { Kysely } from "kysely";
import { SerialQueue } from "../concurrency/index.js";
import type { Database } from "../db/index.js";
import type { Budget, BudgetScope, BudgetWithUsage } from "./types.js";
import { windowStart } from "./windows.js";

const optNum = (v: unknown): number | undefined => (v === null || v === undefined ? undefined : Number(v));

export class BudgetStore {
  #tenants = new Set<string>();
  #timer: NodeJS.Timeout | undefined;
  /** Reads run one after another (./budget-store.test.ts). */
  readonly #reads = new SerialQueue();
  #relay: (() => Promise<void>) | undefined;
  #onReadFailure: ((err: unknown, when: "interval" | "change") => void) | undefined;

  /**
   * `refreshMs`: how often the set of tenants with budgets is re-read, so a budget another
   * replica created applies here within that long (a changed limit applies at once: limits are
   * read inside the reservation's transaction).
   */
  constructor(
    private readonly db: Kysely<Database>,
    private readonly refreshMs = 1000,
  ) {}

  /** Loads the tenants with budgets and keeps them fresh until {@link close}. */
  async start(): Promise<void> {
    await this.refresh();
    this.#timer = setInterval(
      () => void this.refresh().catch((err: unknown) => this.#onReadFailure?.(err, "interval")),
      this.refreshMs,
    );
    this.#timer.unref();
  }

  close(): void {
    clearInterval(this.#timer);
  }

  /**
   * Re-reads which tenants have budgets. The read starts after any read in flight, which may
   * have begun before a change and would otherwise land after this one with the old set.
   */
  refresh(): Promise<void> {
    return this.#reads.run(async () => {
      const rows = await this.db.selectFrom("budgets").select("tenant").distinct().execute();
      this.#tenants = new Set(rows.map((r) => r.tenant));
    });
  }

  /**
   * Sets who else is told when a budget is set or deleted here (the other cluster workers,
   * src/app/cluster), so they re-read which tenants have budgets at once instead of within
   * `refreshMs`.
   */
  setRelay(relay: (() => Promise<void>) | undefined): void {
    this.#relay = relay;
  }

  /**
   * Who is told when the set of tenants with budgets could not be read again: in the
   * background (`interval`) or right after a change made here (`change`); src/app logs and
   * counts it.
   */
  reportReadFailures(report: ((err: unknown, when: "interval" | "change") => void) | undefined): void {
    this.#onReadFailure = report;
  }

  /**
   * A budget was set or deleted through this process: re-read here, and tell the relay. Never
   * fails: the change is stored (a caller told otherwise would retry a deletion that happened
   * and be told the budget is not there). When the set cannot be read again here, that is
   * reported and the relay is still told; the next background read, within `refreshMs`, takes
   * it (a changed limit applies at once anyway: limits are read inside the reservation).
   */
  async #changed(): Promise<void> {
    await this.refresh().catch((err: unknown) => this.#onReadFailure?.(err, "change"));
    await this.#relay?.();
  }

  /** Whether requests of `tenant` take a reservation (it has a budget, for itself or a key). */
  applies(tenant: string): boolean {
    return this.#tenants.has(tenant);
  }

  /** Sets the given limits of a budget (creating it); a limit not given keeps its value. */
  /**
   * Sets a budget's limits; `beforeWrite` (the admin trail) runs with the change before it is
   * written, and its failure leaves the budget as it was.
   */
  async set(
    b: Budget,
    beforeWrite?: (before: Budget | undefined, after: Budget) => Promise<void>,
  ): Promise<{ before: Budget | undefined; after: Budget }> {
    const before = await this.#get(b);
    const after: Budget = {
      tenant: b.tenant,
      keyId: b.keyId,
      period: b.period,
      ...((b.usdMicros ?? before?.usdMicros) !== undefined
        ? { usdMicros: b.usdMicros ?? before?.usdMicros }
        : {}),
      ...((b.tokens ?? before?.tokens) !== undefined ? { tokens: b.tokens ?? before?.tokens } : {}),
    };
    const row = {
      tenant: b.tenant,
      key_id: b.keyId,
      period: b.period,
      usd_micros: after.usdMicros ?? null,
      tokens: after.tokens ?? null,
    };
    await beforeWrite?.(before, after);
    await this.db
      .insertInto("budgets")
      .values(row)
      .onConflict((oc) =>
        oc
          .columns(["tenant", "key_id", "period"])
          .doUpdateSet({ usd_micros: row.usd_micros, tokens: row.tokens, updated_at: new Date() }),
      )
      .execute();
    await this.#changed();
    return { before, after };
  }

  /** Deletes a budget; undefined when there was none. Its windows' usage stays counted. */
  async delete(s: BudgetScope, beforeWrite?: (before: Budget) => Promise<void>): Promise<Budget | undefined> {
    const before = await this.#get(s);
    if (!before) return undefined;
    await beforeWrite?.(before);
    await this.db
      .deleteFrom("budgets")
      .where("tenant", "=", s.tenant)
      .where("key_id", "=", s.keyId)
      .where("period", "=", s.period)
      .execute();
    await this.#changed();
    return before;
  }

  /** Budgets of one tenant (or all, `tenant` undefined), with their current window's usage. */
  async list(tenant: string | undefined, nowMs = Date.now()): Promise<BudgetWithUsage[]> {
    let q = this.db
      .selectFrom("budgets as b")
      .leftJoin("budget_usage as u", (j) =>
        j
          .onRef("u.tenant", "=", "b.tenant")
          .onRef("u.key_id", "=", "b.key_id")
          .onRef("u.period", "=", "b.period")
          .on((eb) =>
            eb.or([
              eb.and([eb("b.period", "=", "day"), eb("u.window_start", "=", windowStart("day", nowMs))]),
              eb.and([eb("b.period", "=", "month"), eb("u.window_start", "=", windowStart("month", nowMs))]),
            ]),
          ),
      )
      .select([
        "b.tenant",
        "b.key_id",
        "b.period",
        "b.usd_micros",
        "b.tokens",
        "u.usd_micros as used_usd",
        "u.tokens as used_tokens",
      ])
      .orderBy("b.tenant")
      .orderBy("b.key_id")
      .orderBy("b.period");
    if (tenant !== undefined) q = q.where("b.tenant", "=", tenant);
    return (await q.execute()).map((r) => ({
      tenant: r.tenant,
      keyId: r.key_id,
      period: r.period,
      ...(optNum(r.usd_micros) !== undefined ? { usdMicros: optNum(r.usd_micros) } : {}),
      ...(optNum(r.tokens) !== undefined ? { tokens: optNum(r.tokens) } : {}),
      windowStart: windowStart(r.period, nowMs),
      usedUsdMicros: optNum(r.used_usd) ?? 0,
      usedTokens: optNum(r.used_tokens) ?? 0,
    }));
  }

  async #get(s: BudgetScope): Promise<Budget | undefined> {
    const r = await this.db
      .selectFrom("budgets")
      .selectAll()
      .where("tenant", "=", s.tenant)
      .where("key_id", "=", s.keyId)
      .where("period", "=", s.period)
      .executeTakeFirst();
    if (!r) return undefined;
    return {
      tenant: r.tenant,
      keyId: r.key_id,
      period: r.period,
      ...(optNum(r.usd_micros) !== undefined ? { usdMicros: optNum(r.usd_micros) } : {}),
      ...(optNum(r.tokens) !== undefined ? { tokens: optNum(r.tokens) } : {}),
    };
  }
}
