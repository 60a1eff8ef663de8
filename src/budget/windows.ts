import type { BudgetPeriod } from "./types.js";

/** Start of the UTC window of `period` containing `timeMs`: midnight UTC, or the 1st of the month. */
export function windowStart(period: BudgetPeriod, timeMs: number): Date {
  const d = new Date(timeMs);
  return period === "day"
    ? new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate()))
    : new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1));
}

/** Micro-USD as dollars, at least cents: 12500000 → "12.50", 1234 → "0.001234". */
export function formatUsd(micros: number): string {
  const s = (micros / 1e6).toFixed(6).replace(/0+$/, "");
  const [whole, frac = ""] = s.split(".");
  return `${whole}.${frac.padEnd(2, "0")}`;
}

/** The budget a refusal names, for errors and records: scope, period and limit, nothing else. */
export function describeBudget(r: {
  scope: { tenant: string; keyId: string; period: BudgetPeriod };
  limit: { usdMicros: number } | { tokens: number };
}): string {
  const who =
    r.scope.keyId === "" ? `tenant ${r.scope.tenant}` : `key ${r.scope.keyId} of tenant ${r.scope.tenant}`;
  const limit = "usdMicros" in r.limit ? `${formatUsd(r.limit.usdMicros)} USD` : `${r.limit.tokens} tokens`;
  return `${r.scope.period === "day" ? "daily" : "monthly"} budget of ${who} (${limit} per UTC ${r.scope.period})`;
}
