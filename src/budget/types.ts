import type { BudgetPeriod } from "../db/index.js";

export type { BudgetPeriod };

/** Where a budget applies: a tenant, or one of its keys (`keyId`; "" = the whole tenant). */
export interface BudgetScope {
  tenant: string;
  keyId: string;
  period: BudgetPeriod;
}

/** A budget as set by an admin: at least one of the two limits. */
export interface Budget extends BudgetScope {
  /** Spend limit per window, micro-USD at catalog prices; undefined = none. */
  usdMicros?: number;
  /** Token limit per window (prompt + completion); undefined = none. */
  tokens?: number;
}

/** A budget with what its current window has used (settled usage plus open reservations). */
export interface BudgetWithUsage extends Budget {
  windowStart: Date;
  usedUsdMicros: number;
  usedTokens: number;
}

/**
 * A request's reservation, taken with its decision record (co-commit work): the most it can
 * cost, charged to every budget of its tenant and key before anything goes upstream.
 */
export interface HoldWork {
  kind: "hold";
  decisionId: string;
  tenant: string;
  /** The caller's key id ("" when authentication is off). */
  keyId: string;
  /** The decision's time: it picks the windows. */
  timeMs: number;
  usdMicros: number;
  tokens: number;
}

/** A decision's actual usage, written with its outcome record: replaces its reservation. */
export interface SettleWork {
  kind: "settle";
  decisionId: string;
  usdMicros: number;
  tokens: number;
}

export type BudgetWork = HoldWork | SettleWork;

/** Why a reservation was refused: the budget it would exceed (no secret: names and limits). */
export interface BudgetRefusal {
  scope: BudgetScope;
  /** The limit that would be exceeded. */
  limit: { usdMicros: number } | { tokens: number };
}
