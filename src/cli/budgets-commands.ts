import type { Command } from "commander";
import { formatUsd } from "../budget/index.js";
import { type Budget, BudgetPeriod, BudgetService } from "../gen/sovereign/v1/budget_pb.js";
import { serverClient } from "./connect-client.js";

/**
 * `sovr budgets set|list|delete` (docs/budgets.md): a client of the running server's
 * BudgetService (`SOVR_URL`, `SOVR_KEY`: a tenant admin's key for its own tenant, an operator's
 * for any). Budgets live in the server's database and apply to every replica.
 */
export function addBudgetsCommands(budgets: Command): void {
  budgets
    .command("set")
    .description("set a budget's limits (--usd and/or --tokens); a limit left out keeps its value")
    .requiredOption("--tenant <tenant>", "tenant")
    .option("--key <id>", "a key of the tenant (default: the whole tenant)")
    .requiredOption("--period <period>", "day or month (UTC)")
    .option("--usd <dollars>", "spend limit per window in USD, e.g. 12.50 (up to 6 decimals)")
    .option("--tokens <n>", "token limit per window (prompt + completion)")
    .option("--json", "print the budget as JSON")
    .action(
      async (o: {
        tenant: string;
        key?: string;
        period: string;
        usd?: string;
        tokens?: string;
        json?: boolean;
      }) => {
        if (o.usd === undefined && o.tokens === undefined) throw new Error("give --usd and/or --tokens");
        const { budget } = await serverClient(BudgetService).setBudget({
          tenant: o.tenant,
          keyId: o.key ?? "",
          period: period(o.period),
          ...(o.usd !== undefined ? { usdMicros: usdMicros(o.usd) } : {}),
          ...(o.tokens !== undefined ? { tokens: wholeNumber("--tokens", o.tokens) } : {}),
        });
        print(budget ? [budget] : [], o.json === true);
      },
    );
  budgets
    .command("list")
    .description("budgets with their current window's usage (open reservations included)")
    .option("--tenant <tenant>", "tenant (default: the key's own)")
    .option("--all-tenants", "every tenant's budgets (operators)")
    .option("--json", "print JSON")
    .action(async (o: { tenant?: string; allTenants?: boolean; json?: boolean }) => {
      const { budgets: rows } = await serverClient(BudgetService).listBudgets({
        tenant: o.tenant ?? "",
        allTenants: o.allTenants === true,
      });
      print(rows, o.json === true);
    });
  budgets
    .command("delete")
    .description("delete a budget (its window's usage stays counted if it is set again)")
    .requiredOption("--tenant <tenant>", "tenant")
    .option("--key <id>", "a key of the tenant (default: the whole tenant)")
    .requiredOption("--period <period>", "day or month")
    .action(async (o: { tenant: string; key?: string; period: string }) => {
      const { deleted } = await serverClient(BudgetService).deleteBudget({
        tenant: o.tenant,
        keyId: o.key ?? "",
        period: period(o.period),
      });
      console.log(deleted ? "deleted" : "no such budget");
      if (!deleted) process.exitCode = 1;
    });
}

function period(p: string): BudgetPeriod {
  if (p === "day") return BudgetPeriod.DAY;
  if (p === "month") return BudgetPeriod.MONTH;
  throw new Error("--period: must be day or month");
}

/** "12.50" → 12500000n, exactly (no floating point). */
export function usdMicros(s: string): bigint {
  const m = /^(\d+)(?:\.(\d{1,6}))?$/.exec(s.trim());
  if (!m) throw new Error("--usd: must be an amount in USD with up to 6 decimals, e.g. 12.50");
  return BigInt(m[1]!) * 1_000_000n + BigInt((m[2] ?? "").padEnd(6, "0"));
}

function wholeNumber(flag: string, s: string): bigint {
  if (!/^\d+$/.test(s.trim())) throw new Error(`${flag}: must be a whole number`);
  return BigInt(s.trim());
}

function json(b: Budget) {
  return {
    tenant: b.tenant,
    key_id: b.keyId,
    period: b.period === BudgetPeriod.DAY ? "day" : "month",
    usd_micros: b.usdMicros === undefined ? null : Number(b.usdMicros),
    tokens: b.tokens === undefined ? null : Number(b.tokens),
    window_start: b.windowStart ? new Date(Number(b.windowStart.seconds) * 1000).toISOString() : null,
    used_usd_micros: Number(b.usedUsdMicros),
    used_tokens: Number(b.usedTokens),
  };
}

function print(rows: Budget[], asJson: boolean): void {
  if (asJson) return void console.log(JSON.stringify(rows.map(json), null, 2));
  const head = ["TENANT", "KEY", "PERIOD", "USD LIMIT", "USD USED", "TOKEN LIMIT", "TOKENS USED"];
  const body = rows.map((r) => {
    const j = json(r);
    return [
      j.tenant,
      j.key_id || "(tenant)",
      j.period,
      j.usd_micros === null ? "-" : formatUsd(j.usd_micros),
      formatUsd(j.used_usd_micros),
      j.tokens === null ? "-" : String(j.tokens),
      String(j.used_tokens),
    ];
  });
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
  for (const line of [head, ...body])
    console.log(
      line
        .map((c, i) => c.padEnd(widths[i]!))
        .join("  ")
        .trimEnd(),
    );
}
