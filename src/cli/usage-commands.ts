import type { Command } from "commander";
import type { UsageOptions } from "./usage-report.js";

const UNITS_MS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/**
 * A point in time: a duration before `now` (`90s`, `15m`, `24h`, `7d`) or an ISO 8601 time.
 * Throws naming the option for anything else.
 */
export function parseSince(value: string, option: string, now: Date = new Date()): Date {
  const m = /^(\d+)([smhd])$/.exec(value.trim());
  if (m) return new Date(now.getTime() - Number(m[1]) * UNITS_MS[m[2]!]!);
  const t = /^\d{4}-\d{2}-\d{2}/.test(value) ? new Date(value) : new Date(Number.NaN);
  if (Number.isNaN(t.getTime()))
    throw new Error(`${option}: expected a duration such as 24h, 30m, 7d or an ISO 8601 time`);
  return t;
}

/** Adds `sovr usage`: a client of the running server (SOVR_URL, SOVR_KEY), like `sovr audit query`. */
export function addUsageCommand(program: Command): void {
  program
    .command("usage")
    .description("requests, tokens and cost of a running server (SOVR_URL, SOVR_KEY), per group")
    .requiredOption("--by <group>", "tenant | key | model | endpoint")
    .option("--since <time>", "start: a duration ago (24h, 30m, 7d) or an ISO 8601 time", "24h")
    .option("--until <time>", "end (exclusive): a duration ago or an ISO 8601 time; default now")
    .option("--tenant <tenant>", "one tenant (operators and all-tenant auditors; others see their own)")
    .option("--json", "one JSON document")
    .option("--csv", "CSV with a header row")
    // The client and its protobuf types load only when the command runs (command-groups.ts).
    .action(async (o: UsageOptions) => console.log(await (await import("./usage-report.js")).usageReport(o)));
}
