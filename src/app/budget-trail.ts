/**
 * Budget changes into the admin trail: each set or delete is an admin record (`budget.set`,
 * `budget.delete`) committed before the change is written (BudgetAdmin calls this first; a
 * record that cannot be committed leaves the budget as it was). The record names the budget
 * (tenant, key or "*", period), the key for a key budget, and its limits before and after.
 */
import type { AdminTrail } from "../audit/index.js";
import type { Budget, BudgetChange } from "../budget/index.js";
import { adminActorOf } from "../routing/index.js";

/** A budget's limits as the record states them, e.g. `usd_micros=12500000 tokens=none`. */
export function budgetLimits(b: Budget | undefined): string {
  if (!b) return "none";
  return `usd_micros=${b.usdMicros ?? "none"} tokens=${b.tokens ?? "none"}`;
}

export function budgetTrail(trail: AdminTrail): (change: BudgetChange) => Promise<void> {
  return async ({ actor, action, scope, before, after }) => {
    await trail.record(adminActorOf(actor), {
      tenant: scope.tenant,
      action: action === "set" ? "budget.set" : "budget.delete",
      target: {
        budget_id: `${scope.tenant}/${scope.keyId || "*"}/${scope.period}`,
        ...(scope.keyId ? { key_id: scope.keyId } : {}),
      },
      revision: { before: before ? budgetLimits(before) : null, after: budgetLimits(after) },
    });
  };
}
