/**
 * `sovr audit explain-export DIR --outside EU [--since 1h]`: from an export alone, the decisions
 * whose endpoint lies outside a region set, each with the endpoint's attributes (as the catalog
 * revision the export carries states them, with sources) and the checks it passed — "which
 * requests went outside the EU, and why was that allowed?" (docs/audit.md §7.2). Offline.
 */
import { resolve } from "node:path";
import type { Command } from "commander";
import { type ExplainedDecision, explainExport } from "../audit/index.js";
import { REGION_SETS, regionSetCountries } from "../catalog/index.js";
import { parseSince } from "./usage-commands.js";

interface CommandResult {
  exitCode: number;
  stdout: string[];
  stderr: string[];
}

export interface ExplainOptions {
  outside: string;
  since?: string;
  json?: boolean;
}

function lines(d: ExplainedDecision): string[] {
  const a = d.attributes;
  const r = a.residency.value;
  const passed = d.checks.filter((c) => c.result === "passed").map((c) => `${c.stage}:${c.check}`);
  const failed = d.checks
    .filter((c) => c.result === "failed")
    .map((c) => `${c.stage}:${c.rule} (${c.reason})`);
  return [
    `${d.time}  ${d.decision_id}  tenant ${d.tenant}${d.key_id ? `  key ${d.key_id}` : ""}  ${d.outcome}`,
    `  endpoint ${d.endpoint_id} (provider ${d.provider}, headquarters ${a.headquarters ?? "unknown"})`,
    `  residency ${r.region ?? "unknown"}/${r.country ?? "unknown"} (source: ${a.residency.source}); retention ${a.retention_days.value ?? "indefinite"} days (${a.retention_days.source}); trains ${a.trains_on_data.value} (${a.trains_on_data.source}); caching ${a.caching.value} (${a.caching.source})`,
    `  request region ${d.request_region ?? "none"}; policy ${d.policy.revision}; catalog ${d.catalog_revision.slice(0, 12)}`,
    `  checks passed: ${passed.length > 0 ? passed.join(", ") : "none stated (record written before applied checks)"}`,
    ...(failed.length > 0 ? [`  checks failed: ${failed.join(", ")}`] : []),
  ];
}

export async function explainCommand(dir: string, o: ExplainOptions): Promise<CommandResult> {
  const set = regionSetCountries(o.outside);
  if (!set)
    return {
      exitCode: 2,
      stdout: [],
      stderr: [`--outside: a region set, one of ${Object.keys(REGION_SETS).join(", ")}`],
    };
  const since = o.since === undefined ? undefined : parseSince(o.since, "--since");
  const found = await explainExport(resolve(dir), { outside: set, ...(since ? { since } : {}) });
  if (o.json) return { exitCode: 0, stdout: found.map((d) => JSON.stringify(d)), stderr: [] };
  return {
    exitCode: 0,
    stdout: [
      ...found.flatMap(lines),
      `${found.length} decisions went to an endpoint outside ${o.outside.toUpperCase()} (or of unknown country)`,
    ],
    stderr: [],
  };
}

export function addAuditExplainCommand(
  audit: Command,
  run: (fn: () => Promise<CommandResult>) => Promise<void>,
): void {
  audit
    .command("explain-export")
    .argument("<dir>", "an export directory (verify it first: `sovr audit verify DIR`)")
    .description(
      "offline: decisions whose endpoint is outside a region set, with its attributes and the checks it passed",
    )
    .requiredOption("--outside <set>", `a region set (${Object.keys(REGION_SETS).join(", ")})`)
    .option("--since <time>", "a duration ago (1h, 30m, 7d) or an ISO 8601 time")
    .option("--json", "one JSON object per decision")
    .action((dir: string, o: ExplainOptions) => run(() => explainCommand(dir, o)));
}
