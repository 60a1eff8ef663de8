/**
 * The rules of budget administration, shared by BudgetService and the HTTP admin route: a
 * tenant admin manages its own tenant's budgets only, an operator any tenant's; a key budget
 * names a key of that tenant (another tenant's key is unknown, exactly as a key that does not
 * exist). Every change goes through {@link BudgetAdmin.#changed}, the one place an admin
 * record of it belongs (issue 17 part 4).
 */
import type { Kysely } from "kysely";
import type { Principal } from "../auth/index.js";
import type { Database } from "../db/index.js";
import { InvalidFieldError } from "../encoding/index.js";
import type { BudgetStore } from "./budget-store.js";
import type { Budget, BudgetScope, BudgetWithUsage } from "./types.js";

/** A tenant admin naming another tenant (PermissionDenied, as in KeyService). */
export class BudgetAccessError extends Error {
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(`${field}: ${message}`);
    this.name = "BudgetAccessError";
  }
}

/** A key budget for a key the tenant does not have (NotFound; another tenant's key included). */
export class BudgetKeyNotFoundError extends Error {
  constructor(keyId: string, tenant: string) {
    super(`key_id: tenant ${tenant} has no key ${keyId}`);
    this.name = "BudgetKeyNotFoundError";
  }
}

/** A budget change as an admin record will carry it: who, what, before and after (no secret). */
export interface BudgetChange {
  actor: Principal;
  action: "set" | "delete";
  scope: BudgetScope;
  before: Budget | undefined;
  after: Budget | undefined;
}

/** Largest limit accepted: within int8 and exact as a JS number. */
const MAX_LIMIT = Number.MAX_SAFE_INTEGER;

export class BudgetAdmin {
  /**
   * `onChange`: the admin trail (issue 17 part 4), called with each change BEFORE it is
   * written: when it fails (the record cannot be committed), the budget stays as it was.
   */
  constructor(
    private readonly db: Kysely<Database>,
    private readonly store: BudgetStore,
    private readonly onChange?: (change: BudgetChange) => Promise<void>,
  ) {}

  async set(caller: Principal, b: Budget): Promise<BudgetWithUsage> {
    const scope = await this.#scope(caller, b);
    if (b.usdMicros === undefined && b.tokens === undefined)
      throw new InvalidFieldError("usd_micros", "set usd_micros or tokens (or both)");
    for (const [field, v] of [
      ["usd_micros", b.usdMicros],
      ["tokens", b.tokens],
    ] as const)
      if (v !== undefined && (!Number.isSafeInteger(v) || v < 0 || v > MAX_LIMIT))
        throw new InvalidFieldError(field, "must be a whole number from 0");
    await this.store.set({ ...b, ...scope }, (before, after) =>
      this.#changed({ actor: caller, action: "set", scope, before, after }),
    );
    return (await this.store.list(scope.tenant)).find((x) => same(x, scope))!;
  }

  async delete(caller: Principal, s: BudgetScope): Promise<boolean> {
    const scope = await this.#scope(caller, s);
    const before = await this.store.delete(scope, (before) =>
      this.#changed({ actor: caller, action: "delete", scope, before, after: undefined }),
    );
    return before !== undefined;
  }

  /** `tenant` "" = the caller's; `allTenants` = every tenant (operators only). */
  async list(caller: Principal, tenant: string, allTenants = false): Promise<BudgetWithUsage[]> {
    if (allTenants) {
      if (!caller.roles.includes("operator"))
        throw new BudgetAccessError("all_tenants", "only an operator lists every tenant's budgets");
      return this.store.list(undefined);
    }
    return this.store.list(this.#tenant(caller, tenant));
  }

  /** THE call site of "budget changed": the admin trail hooks in here. */
  async #changed(change: BudgetChange): Promise<void> {
    await this.onChange?.(change);
  }

  #tenant(caller: Principal, tenant: string): string {
    const t = tenant || caller.tenant;
    if (t !== caller.tenant && !caller.roles.includes("operator"))
      throw new BudgetAccessError(
        "tenant",
        `a tenant admin manages only its own tenant's budgets (${caller.tenant}), not ${t}`,
      );
    return t;
  }

  async #scope(caller: Principal, s: BudgetScope): Promise<BudgetScope> {
    const tenant = this.#tenant(caller, s.tenant);
    if (s.period !== "day" && s.period !== "month")
      throw new InvalidFieldError("period", "must be day or month");
    if (s.keyId !== "") {
      const key = await this.db
        .selectFrom("api_keys")
        .select("key_id")
        .where("key_id", "=", s.keyId)
        .where("tenant", "=", tenant)
        .executeTakeFirst();
      if (!key) throw new BudgetKeyNotFoundError(s.keyId, tenant);
    }
    return { tenant, keyId: s.keyId, period: s.period };
  }
}

const same = (a: BudgetScope, b: BudgetScope) =>
  a.tenant === b.tenant && a.keyId === b.keyId && a.period === b.period;
