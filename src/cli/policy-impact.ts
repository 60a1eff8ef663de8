/**
 * `sovr policy impact --bundle FILE --since 24h`: what a draft bundle would change, before it is
 * activated. The server replays past decisions under the draft (AuditService.PolicyImpact; the
 * bundle is uploaded, evaluated in a sandbox, never activated) and this prints its summary:
 * routed → denied and the reverse, per rule, per tenant, per endpoint, with example decision ids
 * to look at one by one (`sovr audit replay ID`).
 */
import { readFile } from "node:fs/promises";
import { toJson } from "@bufbuild/protobuf";
import { timestampDate, timestampFromDate } from "@bufbuild/protobuf/wkt";
import type { Command } from "commander";
import {
  AuditService,
  type PolicyImpactSummary,
  PolicyImpactSummarySchema,
} from "../gen/sovereign/v1/audit_pb.js";
import { ExclusionStage } from "../gen/sovereign/v1/router_pb.js";
import { type ServerClientOptions, serverClient } from "./connect-client.js";
import { parseSince } from "./usage-commands.js";

export interface ImpactCommandOptions extends ServerClientOptions {
  bundle: string;
  since: string;
  until?: string;
  tenant?: string;
  limit?: number;
  sample?: number;
  json?: boolean;
  /** Called with the count replayed so far (the server reports every few hundred). */
  onProgress?: (replayed: number) => void;
}

const STAGE: Partial<Record<ExclusionStage, string>> = {
  [ExclusionStage.POLICY]: "policy",
  [ExclusionStage.FILTER]: "filter",
  [ExclusionStage.AVAILABILITY]: "availability",
};

/** Runs the impact on the server; resolves to the lines to print. */
export async function impactCommand(o: ImpactCommandOptions): Promise<string[]> {
  const bundle = new Uint8Array(await readFile(o.bundle));
  const now = new Date();
  const stream = serverClient(AuditService, o).policyImpact({
    bundle,
    startTime: timestampFromDate(parseSince(o.since, "--since", now)),
    endTime: o.until ? timestampFromDate(parseSince(o.until, "--until", now)) : undefined,
    tenant: o.tenant ?? "",
    limit: o.limit ?? 0,
    sample: o.sample ?? 0,
  });
  let summary: PolicyImpactSummary | undefined;
  for await (const m of stream) {
    if (m.summary) summary = m.summary;
    else o.onProgress?.(Number(m.replayed));
  }
  if (!summary) throw new Error("the server ended the impact run without a summary");
  if (o.json)
    return [JSON.stringify(toJson(PolicyImpactSummarySchema, summary, { alwaysEmitImplicit: true }))];
  return impactLines(summary);
}

/** The summary for people. */
export function impactLines(s: PolicyImpactSummary): string[] {
  const when = (t: typeof s.startTime) => (t ? timestampDate(t).toISOString() : "?");
  const lines = [
    `draft ${s.draft?.revision ?? "?"} (sha256 ${s.draft?.sha256.slice(0, 12) ?? "?"}) over ${when(s.startTime)} .. ${when(s.endTime)}`,
    `replayed ${s.replayed}${s.truncated ? " (limit reached: later decisions not replayed)" : ""}: ${s.unchanged} unchanged, ${s.allowedToDenied} routed → denied, ${s.deniedToAllowed} denied → routed, ${s.otherwiseChanged} otherwise changed, ${s.errors} policy errors${s.unavailable > 0n ? `; ${s.unavailable} not replayable (catalog revision not stored)` : ""}`,
  ];
  const ex = (ids: string[]) => (ids.length > 0 ? `  e.g. ${ids.join(" ")}` : "");
  if (s.allowedToDenied > 0n) lines.push(`routed → denied:${ex(s.allowedToDeniedExamples)}`);
  if (s.deniedToAllowed > 0n) lines.push(`denied → routed:${ex(s.deniedToAllowedExamples)}`);
  if (s.otherwiseChanged > 0n) lines.push(`otherwise changed:${ex(s.otherwiseChangedExamples)}`);
  if (s.errors > 0n) lines.push(`policy errors (would fail closed):${ex(s.errorExamples)}`);
  if (s.rules.length > 0) {
    lines.push(
      "rules (candidates newly excluded / no longer excluded; decisions routed → denied / denied → routed):",
    );
    for (const r of s.rules)
      lines.push(
        `  ${STAGE[r.stage] ?? "?"}:${r.rule}  +${r.newlyExcluded} / -${r.noLongerExcluded}; ${r.allowedToDenied} / ${r.deniedToAllowed}${ex(r.examples)}`,
      );
  }
  if (s.tenants.length > 0) {
    lines.push("tenants (replayed, changed, routed → denied, denied → routed):");
    for (const t of s.tenants)
      lines.push(`  ${t.tenant}  ${t.replayed}, ${t.changed}, ${t.allowedToDenied}, ${t.deniedToAllowed}`);
  }
  if (s.endpoints.length > 0) {
    lines.push("endpoints (became ineligible / became eligible):");
    for (const e of s.endpoints)
      lines.push(`  ${e.endpointId}  ${e.becameIneligible} / ${e.becameEligible}${ex(e.examples)}`);
  }
  return lines;
}

function positiveInt(v: string): number {
  const n = Number(v);
  if (!Number.isSafeInteger(n) || n < 1) throw new Error(`--limit: a positive integer, not ${v}`);
  return n;
}

function fraction(v: string): number {
  const n = Number(v);
  if (!(n > 0 && n <= 1)) throw new Error(`--sample: a fraction in (0, 1], not ${v}`);
  return n;
}

/** Adds `sovr policy impact`. */
export function addPolicyImpactCommand(policy: Command): void {
  policy
    .command("impact")
    .description(
      "what a draft bundle would change: past decisions replayed under it on a running server (SOVR_URL, SOVR_KEY), never activated",
    )
    .requiredOption("--bundle <file>", "the draft bundle (.tar.gz from `sovr policy build --out`)")
    .option("--since <time>", "start: a duration ago (24h, 30m, 7d) or an ISO 8601 time", "24h")
    .option("--until <time>", "end (exclusive): a duration ago or an ISO 8601 time; default now")
    .option("--tenant <tenant>", "one tenant (operators and all-tenant auditors; others replay their own)")
    .option("--limit <n>", "most decisions to replay, oldest first (server default 10000)", positiveInt)
    .option(
      "--sample <fraction>",
      "replay this fraction of the decisions, e.g. 0.1 (the same ones each run)",
      fraction,
    )
    .option("--json", "the summary as one JSON document")
    .action(async (o: ImpactCommandOptions) => {
      const tty = process.stderr.isTTY;
      const lines = await impactCommand({
        ...o,
        onProgress: tty ? (n) => process.stderr.write(`\rreplayed ${n}…`) : undefined,
      });
      if (tty) process.stderr.write("\r\x1b[K");
      for (const line of lines) console.log(line);
    });
}
