import type { Generated } from "kysely";

/** A UTC window a budget counts over. */
export type BudgetPeriod = "day" | "month";

/**
 * A budget: limits on spend (micro-USD, at catalog prices) and/or tokens per window, for a
 * tenant (`key_id` '') or one of its keys. A null limit is no limit of that kind.
 */
export interface BudgetsTable {
  tenant: string;
  key_id: string;
  period: BudgetPeriod;
  usd_micros: string | number | bigint | null;
  tokens: string | number | bigint | null;
  updated_at: Generated<Date>;
}

/** What one window of a budget's scope has used: settled usage plus open reservations. */
export interface BudgetUsageTable {
  tenant: string;
  key_id: string;
  period: BudgetPeriod;
  window_start: Date;
  usd_micros: string | number | bigint;
  tokens: string | number | bigint;
}

/** One decision's charge to one budget window: the reservation, then (settled) the actual usage. */
export interface BudgetHoldsTable {
  decision_id: string;
  tenant: string;
  key_id: string;
  period: BudgetPeriod;
  window_start: Date;
  usd_micros: string | number | bigint;
  tokens: string | number | bigint;
  settled: boolean;
}
