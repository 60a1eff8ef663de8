/**
 * `sovr usage`'s report: the running server's UsageService asked, the answer as a table, one
 * JSON document or CSV (usage-commands.ts defines the command).
 */
import { timestampDate, timestampFromDate } from "@bufbuild/protobuf/wkt";
import { type GetUsageResponse, UsageGroupBy, UsageService } from "../gen/sovereign/v1/usage_pb.js";
import { serverClient } from "./connect-client.js";
import { parseSince } from "./usage-commands.js";

export interface UsageOptions {
  by: string;
  since: string;
  until?: string;
  tenant?: string;
  json?: boolean;
  csv?: boolean;
}

const GROUPS: Record<string, UsageGroupBy> = {
  tenant: UsageGroupBy.TENANT,
  key: UsageGroupBy.KEY,
  model: UsageGroupBy.MODEL,
  endpoint: UsageGroupBy.ENDPOINT,
};

/** `sovr usage --by …`: the report as text. */
export async function usageReport(o: UsageOptions): Promise<string> {
  const groupBy = GROUPS[o.by];
  if (!groupBy) throw new Error(`--by: expected tenant, key, model or endpoint, not ${o.by}`);
  if (o.json && o.csv) throw new Error("--json and --csv: choose one");
  const now = new Date();
  const res = await serverClient(UsageService).getUsage({
    groupBy,
    startTime: timestampFromDate(parseSince(o.since, "--since", now)),
    endTime: o.until ? timestampFromDate(parseSince(o.until, "--until", now)) : undefined,
    tenant: o.tenant ?? "",
  });
  return formatUsage(res, o.by, o.json ? "json" : o.csv ? "csv" : "table");
}

/** Micro-USD → USD with all six decimals (exact: no float rounding). */
export function usd(micro: bigint): string {
  const neg = micro < 0n;
  const a = neg ? -micro : micro;
  return `${neg ? "-" : ""}${a / 1_000_000n}.${(a % 1_000_000n).toString().padStart(6, "0")}`;
}

interface Row {
  group: string;
  requests: string;
  succeeded: string;
  input_tokens: string;
  output_tokens: string;
  cost_usd: string;
}

function rowsOf(res: GetUsageResponse): Row[] {
  return res.rows.map((r) => ({
    group: r.group,
    requests: String(r.requests),
    succeeded: String(r.succeeded),
    input_tokens: String(r.inputTokens),
    output_tokens: String(r.outputTokens),
    cost_usd: usd(r.costMicroUsd),
  }));
}

const csvField = (v: string) => (/[",\n\r]/.test(v) ? `"${v.replaceAll('"', '""')}"` : v);

/** The report as text: a table (default), one JSON document, or CSV with a header row. */
export function formatUsage(res: GetUsageResponse, by: string, format: "table" | "json" | "csv"): string {
  const rows = rowsOf(res);
  const from = res.startTime ? timestampDate(res.startTime).toISOString() : "";
  const to = res.endTime ? timestampDate(res.endTime).toISOString() : "";
  if (format === "json") return JSON.stringify({ by, from, to, rows });
  const header = [by, "requests", "succeeded", "input_tokens", "output_tokens", "cost_usd"];
  const cells = rows.map((r) => [
    r.group,
    r.requests,
    r.succeeded,
    r.input_tokens,
    r.output_tokens,
    r.cost_usd,
  ]);
  if (format === "csv") return [header, ...cells].map((l) => l.map(csvField).join(",")).join("\n");
  const shown = cells.map((l) => [l[0] || "(none)", ...l.slice(1)]);
  const widths = header.map((h, i) => Math.max(h.length, ...shown.map((l) => l[i]!.length)));
  const line = (l: string[]) =>
    l.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join("  ");
  return [`usage ${from} .. ${to}`, line(header), ...shown.map(line)].join("\n");
}
