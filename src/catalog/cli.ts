/**
 * What `sovr catalog validate` and `sovr catalog list` print. The commands themselves (commander)
 * live in src/cli; these functions do the work and return text, so they are testable.
 */
import type { CatalogEnvPolicy } from "../config/index.js";
import type { Env } from "./env-interpolation.js";
import { type CatalogIssue, CatalogValidationError } from "./errors.js";
import { loadCatalogDir } from "./loader.js";
import { buildSnapshot } from "./resolve.js";
import type { Attribute, CatalogSnapshot, ResolvedEndpoint } from "./types.js";

/** `file:line: path: reason`, leaving out the parts that are unknown. */
export function formatIssue(issue: CatalogIssue): string {
  const where = issue.line === undefined ? issue.file : `${issue.file}:${issue.line}`;
  return `${where}: ${issue.path ? `${issue.path}: ` : ""}${issue.message}`;
}

export interface ValidateResult {
  exitCode: 0 | 1;
  /** Every issue, one per line; or one summary line when the catalog is valid. */
  lines: string[];
  snapshot?: CatalogSnapshot;
}

/**
 * `sovr catalog validate [dir]`: loads and validates the whole directory offline.
 *
 * @example
 * const { exitCode, lines } = await validateCatalogDir("catalog", { env: process.env });
 * for (const line of lines) (exitCode ? console.error : console.log)(line);
 * process.exitCode = exitCode;
 */
export async function validateCatalogDir(
  dir: string,
  options: { env?: Env; vars?: CatalogEnvPolicy } = {},
): Promise<ValidateResult> {
  try {
    const snapshot = buildSnapshot(await loadCatalogDir(dir, options), options);
    const providers = snapshot.providers.length;
    const endpoints = snapshot.endpoints.length;
    return {
      exitCode: 0,
      lines: [`${dir}: ${providers} providers, ${endpoints} endpoints, revision ${snapshot.revision}`],
      snapshot,
    };
  } catch (err) {
    if (err instanceof CatalogValidationError) return { exitCode: 1, lines: err.issues.map(formatIssue) };
    throw err;
  }
}

const ASSUMED_MARK = "*";

function mark<T>(attribute: Attribute<T>, text: string): string {
  return attribute.source === "assumed" ? `${text}${ASSUMED_MARK}` : text;
}

function retention(e: ResolvedEndpoint): string {
  const days = e.policy.retentionDays.value;
  return mark(e.policy.retentionDays, days === null ? "indefinite" : days === 0 ? "none" : `${days}d`);
}

function region(e: ResolvedEndpoint): string {
  const { region, country } = e.policy.residency.value;
  const text = region === null && country === null ? "unknown" : [region, country].filter((x) => x).join("/");
  return mark(e.policy.residency, text);
}

function usd(n: number): string {
  return `$${n.toFixed(n < 0.1 && n > 0 ? 3 : 2)}`;
}

/**
 * `sovr catalog list`: one row per endpoint. Values that are assumed (no published fact) end in
 * `*`, explained in a legend under the table; unavailable endpoints are listed, not hidden.
 */
export function renderEndpointTable(
  endpoints: readonly ResolvedEndpoint[],
  /** Endpoint id → what the server's prober found (`sovr catalog list`); the column when given. */
  reachability?: ReadonlyMap<string, string>,
): string {
  const header = [
    "ENDPOINT",
    "MODEL",
    "REGION",
    "RETENTION",
    "TRAINING",
    "CACHING",
    "PRICE IN/OUT $/M",
    "STATUS",
    ...(reachability ? ["REACHABILITY"] : []),
  ];
  const rows = endpoints.map((e) => [
    e.id,
    e.model,
    region(e),
    retention(e),
    mark(e.policy.trainsOnData, e.policy.trainsOnData.value ? "yes" : "no"),
    mark(e.policy.caching, e.policy.caching.value.replace("_", "-")),
    `${usd(e.pricing.prompt)} / ${usd(e.pricing.completion)}`,
    e.available ? "available" : `unavailable (${e.apiKeyEnv} unset)`,
    ...(reachability ? [reachability.get(e.id) ?? "-"] : []),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!)))
      .join("  ")
      .trimEnd();
  const legend =
    `${ASSUMED_MARK} assumed: no published fact establishes this value, so the worst case applies ` +
    "(retained indefinitely, trains on data, residency unknown, persistent caching).";
  const anyAssumed = endpoints.some((e) => e.assumed.length > 0);
  return [line(header), ...rows.map(line), ...(anyAssumed ? ["", legend] : [])].join("\n");
}
