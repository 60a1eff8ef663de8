/**
 * `sovr audit query`: decisions of a running server matching the filters (docs/audit.md §7.2),
 * as a table, JSON lines or CSV. `--json` and `--csv` carry the full records (the signed
 * payloads, decoded); `--count` prints how many match.
 */
import { timestampDate, timestampFromDate } from "@bufbuild/protobuf/wkt";
import type { Command } from "commander";
import { AuditService, type DecisionSummary, Outcome } from "../gen/sovereign/v1/audit_pb.js";
import { type ServerClientOptions, serverClient } from "./connect-client.js";

/** What a command prints and its exit code. */
interface CommandResult {
  exitCode: number;
  stdout: string[];
  stderr: string[];
}

const OUTCOME_NAMES: Record<string, Outcome> = {
  success: Outcome.SUCCESS,
  failed: Outcome.FAILED,
  denied: Outcome.DENIED,
  pending: Outcome.PENDING,
};

export interface QueryOptions extends ServerClientOptions {
  from?: string;
  to?: string;
  tenant?: string;
  model?: string;
  endpoint?: string;
  outcome?: string;
  policyRevision?: string;
  provider?: string;
  country?: string;
  region?: string;
  inside?: string;
  outside?: string;
  headquarters?: string;
  excludedBy?: string;
  passed?: string;
  key?: string;
  label?: string;
  /** Most rows to print (default 100). */
  limit?: number;
  json?: boolean;
  csv?: boolean;
  /** Print only how many decisions match. */
  count?: boolean;
}

/** The auditor's filter flags (and output flags) of `sovr audit query`. */
export function addQueryFilterOptions(c: Command): Command {
  return c
    .option("--provider <slug>", "the endpoint's provider")
    .option("--country <CC>", "the endpoint's effective residency country (ISO 3166-1 alpha-2)")
    .option("--region <region>", "the endpoint's effective residency region (eu, us, …)")
    .option("--inside <set>", "the endpoint's residency country is in this region set (EU, EEA)")
    .option("--outside <set>", "the endpoint's residency country is outside this region set, or unknown")
    .option("--headquarters <CC>", "the provider's headquarters country")
    .option("--excluded-by <rule>", "a rule excluded at least one candidate (zdr, residency, only, …)")
    .option("--passed <rule>", "the planned endpoint passed this applied check")
    .option("--key <id>", "the API key id of the call")
    .option("--label <category>", "the detectors found this content label category (email, iban, …)")
    .option("--limit <n>", "most rows to print", Number, 100)
    .option("--json", "one JSON object per line, with the decoded decision and outcome records")
    .option("--csv", "CSV with a header, the decoded records as JSON in the last two columns")
    .option("--count", "print only how many decisions match");
}

function parseTime(flag: string, v: string | undefined) {
  if (v === undefined) return undefined;
  const d = new Date(v);
  if (Number.isNaN(d.getTime())) throw new Error(`${flag}: not a date/time: ${v}`);
  return timestampFromDate(d);
}

const decoder = new TextDecoder();
const decoded = (bytes: Uint8Array) => (bytes.length === 0 ? null : JSON.parse(decoder.decode(bytes)));

function plainRow(d: DecisionSummary) {
  return {
    decision_id: d.decisionId,
    time: d.time ? timestampDate(d.time).toISOString() : "",
    tenant: d.tenant,
    model: d.model,
    endpoint_id: d.endpointId,
    outcome: Outcome[d.outcome]?.toLowerCase() ?? String(d.outcome),
    policy_revision: d.policyRevision,
    decision_seq: Number(d.decisionSeq),
    outcome_seq: d.outcomeSeq === undefined ? null : Number(d.outcomeSeq),
    key_id: d.keyId,
  };
}

const CSV_COLUMNS = [
  "decision_id",
  "time",
  "tenant",
  "model",
  "endpoint_id",
  "outcome",
  "policy_revision",
  "decision_seq",
  "outcome_seq",
  "key_id",
  "record",
  "outcome_record",
] as const;

/** RFC 4180 field: quoted when it holds a comma, quote or line break. */
function csvField(v: unknown): string {
  const s = v === null || v === undefined ? "" : typeof v === "string" ? v : JSON.stringify(v);
  return /[",\r\n]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
}

export async function queryCommand(o: QueryOptions = {}): Promise<CommandResult> {
  const outcome = o.outcome === undefined ? Outcome.UNSPECIFIED : OUTCOME_NAMES[o.outcome];
  if (outcome === undefined)
    return {
      exitCode: 2,
      stdout: [],
      stderr: [`--outcome: one of ${Object.keys(OUTCOME_NAMES).join(", ")}`],
    };
  if (o.json && o.csv) return { exitCode: 2, stdout: [], stderr: ["--json and --csv: choose one"] };
  const client = serverClient(AuditService, o);
  const limit = o.limit ?? 100;
  const full = Boolean(o.json || o.csv);
  const request = {
    startTime: parseTime("--from", o.from),
    endTime: parseTime("--to", o.to),
    tenant: o.tenant ?? "",
    model: o.model ?? "",
    endpointId: o.endpoint ?? "",
    outcome,
    policyRevision: o.policyRevision ?? "",
    provider: o.provider ?? "",
    country: o.country ?? "",
    residencyRegion: o.region ?? "",
    inside: o.inside ?? "",
    outside: o.outside ?? "",
    headquarters: o.headquarters ?? "",
    excludedBy: o.excludedBy ?? "",
    passed: o.passed ?? "",
    keyId: o.key ?? "",
    label: o.label ?? "",
  };
  if (o.count) {
    const page = await client.queryDecisions({ ...request, pageSize: 1, includeCount: true });
    return { exitCode: 0, stdout: [String(page.total ?? 0n)], stderr: [] };
  }
  const rows: DecisionSummary[] = [];
  let pageToken = "";
  do {
    const page = await client.queryDecisions({
      ...request,
      pageSize: Math.min(500, limit - rows.length),
      pageToken,
      includeRecords: full,
    });
    rows.push(...page.decisions);
    pageToken = page.nextPageToken;
  } while (pageToken !== "" && rows.length < limit);
  const withRecords = (d: DecisionSummary) => ({
    ...plainRow(d),
    record: decoded(d.decisionRecord),
    outcome_record: decoded(d.outcomeRecord),
  });
  if (o.json) return { exitCode: 0, stdout: rows.map((d) => JSON.stringify(withRecords(d))), stderr: [] };
  if (o.csv) {
    const all = rows.map(withRecords);
    const line = (r: ReturnType<typeof withRecords>) => CSV_COLUMNS.map((h) => csvField(r[h])).join(",");
    return { exitCode: 0, stdout: [CSV_COLUMNS.join(","), ...all.map(line)], stderr: [] };
  }
  const plain = rows.map(plainRow);
  const header = ["TIME", "DECISION", "TENANT", "MODEL", "ENDPOINT", "OUTCOME", "POLICY", "SEQ"];
  const table = plain.map((r) => [
    r.time,
    r.decision_id,
    r.tenant,
    r.model,
    r.endpoint_id || "-",
    r.outcome,
    r.policy_revision.slice(0, 12),
    r.outcome_seq === null ? String(r.decision_seq) : `${r.decision_seq},${r.outcome_seq}`,
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...table.map((row) => row[i]!.length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => c.padEnd(widths[i]!))
      .join("  ")
      .trimEnd();
  const more = pageToken !== "" ? ` (more match; raise --limit)` : "";
  return {
    exitCode: 0,
    stdout: [line(header), ...table.map(line), "", `${plain.length} decisions${more}`],
    stderr: [],
  };
}
