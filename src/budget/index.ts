/**
 * The public face of budget/ (docs/budgets.md): budgets per tenant and key, per UTC day and
 * month; their store; the ledger that reserves and settles them inside the audit log's commits.
 */
export { BudgetAccessError, BudgetAdmin, type BudgetChange, BudgetKeyNotFoundError } from "./budget-admin.js";
export { BudgetLedger } from "./budget-ledger.js";
export { BudgetStore } from "./budget-store.js";
export type {
  Budget,
  BudgetPeriod,
  BudgetRefusal,
  BudgetScope,
  BudgetWithUsage,
  BudgetWork,
  HoldWork,
  SettleWork,
} from "./types.js";
export { describeBudget, formatUsd, windowStart } from "./windows.js";
