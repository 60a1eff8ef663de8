/**
 * Answers from an export alone (issue 14, docs/audit.md §7.2): "which requests went to an
 * endpoint outside this region set, and why was that allowed?". Reads `records.jsonl` and the
 * catalog revisions the export carries (`catalogs/<revision>.json`, export-catalogs.ts); asks
 * nothing of the server. Run `sovr audit verify DIR --trusted-keys …` first: this reads the
 * records, it does not check their signatures.
 *
 * For each decision whose endpoint — the outcome's `endpoint_used`, else the first planned
 * endpoint — has a residency country outside the set (or none stated), it gives the endpoint's
 * effective attributes as that catalog revision states them (residency, headquarters,
 * retention, training, caching, each with its source) and the checks the decision applied
 * with that endpoint's result (record-applied.ts): why it was allowed.
 */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { type CatalogSnapshot, type ResolvedEndpoint, snapshotFromCanonical } from "../catalog/index.js";
import { catalogFileName } from "./export-catalogs.js";
import { type ExportEntry, RECORDS_FILE, readLines } from "./export-format.js";
import type { DecisionRecord, OutcomeRecord } from "./record.js";
import { appliedResults, type CheckResult } from "./record-applied.js";

export interface ExplainOptions {
  /** The region set's countries: an endpoint whose residency country is not one of them is listed. */
  outside: ReadonlySet<string>;
  /** Decisions at or after this time only. */
  since?: Date;
}

/** One attribute as the catalog revision states it. */
export interface StatedAttribute<T> {
  value: T;
  source: string;
}

export interface ExplainedDecision {
  decision_id: string;
  time: string;
  tenant: string;
  key_id: string;
  /** What the request asked for (residency requirement, content labels). */
  request_region: string | null;
  labels: Record<string, string>;
  outcome: string;
  endpoint_id: string;
  provider: string;
  catalog_revision: string;
  attributes: {
    residency: StatedAttribute<{ region: string | null; country: string | null }>;
    headquarters: string | null;
    retention_days: StatedAttribute<number | null>;
    trains_on_data: StatedAttribute<boolean>;
    caching: StatedAttribute<string>;
  };
  /** The checks applied, with this endpoint's result; `passed` throughout for a routed endpoint. */
  checks: CheckResult[];
  /** The policy bundle that decided. */
  policy: { revision: string; sha256: string };
}

function attributes(e: ResolvedEndpoint): ExplainedDecision["attributes"] {
  const p = e.policy;
  return {
    residency: {
      value: { region: p.residency.value.region ?? null, country: p.residency.value.country ?? null },
      source: p.residency.source,
    },
    headquarters: e.providerHeadquarters,
    retention_days: { value: p.retentionDays.value, source: p.retentionDays.source },
    trains_on_data: { value: p.trainsOnData.value, source: p.trainsOnData.source },
    caching: { value: p.caching.value, source: p.caching.source },
  };
}

/** The listed decisions, in log order. Throws naming a catalog revision the export lacks. */
export async function explainExport(dir: string, o: ExplainOptions): Promise<ExplainedDecision[]> {
  const decisions = new Map<string, DecisionRecord>();
  const outcomes = new Map<string, OutcomeRecord>();
  for await (const line of readLines(join(dir, RECORDS_FILE))) {
    if (line === "") continue;
    const entry = JSON.parse(line) as ExportEntry;
    const r = JSON.parse(Buffer.from(entry.envelope.payload, "base64").toString("utf8")) as
      | DecisionRecord
      | OutcomeRecord
      | { kind: "admin" };
    if (r.kind === "decision") decisions.set(r.decision_id, r);
    else if (r.kind === "outcome") outcomes.set(r.decision_id, r);
  }
  const catalogs = new Map<string, CatalogSnapshot>();
  const catalog = async (revision: string) => {
    let s = catalogs.get(revision);
    if (!s) {
      const text = await readFile(join(dir, catalogFileName(revision)), "utf8").catch(() => {
        throw new Error(`the export holds no ${catalogFileName(revision)}`);
      });
      s = snapshotFromCanonical(text);
      catalogs.set(revision, s);
    }
    return s;
  };
  const out: ExplainedDecision[] = [];
  const sinceUs = o.since ? o.since.getTime() * 1000 : 0;
  for (const d of decisions.values()) {
    if (d.time_us < sinceUs) continue;
    const outcome = outcomes.get(d.decision_id);
    const endpointId = outcome?.endpoint_used ?? d.plan[0];
    if (!endpointId) continue;
    const endpoint = (await catalog(d.catalog_revision)).endpoints.find((e) => e.id === endpointId);
    if (!endpoint) throw new Error(`catalog ${d.catalog_revision} has no endpoint ${endpointId}`);
    const attrs = attributes(endpoint);
    const country = attrs.residency.value.country;
    if (country !== null && o.outside.has(country)) continue;
    const results = appliedResults(d).find((c) => c.endpoint_id === endpointId)?.checks ?? [];
    out.push({
      decision_id: d.decision_id,
      time: new Date(Math.floor(d.time_us / 1000)).toISOString(),
      tenant: d.principal.tenant,
      key_id: d.v === 2 ? d.caller.key_id : "",
      request_region: d.request.region,
      labels: d.v === 2 ? d.labels : {},
      outcome: outcome?.outcome ?? (d.plan.length > 0 ? "pending" : "denied"),
      endpoint_id: endpointId,
      provider: endpoint.provider,
      catalog_revision: d.catalog_revision,
      attributes: attrs,
      checks: results,
      policy: { revision: d.policy.revision, sha256: d.policy.sha256 },
    });
  }
  return out;
}
