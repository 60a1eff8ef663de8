/**
 * The usage report (issue 17, `UsageService.GetUsage`, `sovr usage`): requests, tokens and cost
 * per tenant, API key, model or endpoint over a time range, summed from the decisions' query
 * index, whose usage columns the log fills from each signed outcome record in the same statement
 * that appends it (audit-log.ts). So the report says exactly what the outcome records say:
 * tokens as the upstream reported them, cost at catalog prices in micro-USD.
 */
import { type Kysely, sql } from "kysely";
import type { Database } from "../db/index.js";

export type UsageGroup = "tenant" | "key" | "model" | "endpoint";

/** The index column each grouping reads. */
const COLUMNS = { tenant: "tenant", key: "key_id", model: "model", endpoint: "endpoint_id" } as const;

export interface UsageQuery {
  by: UsageGroup;
  /** Inclusive start, exclusive end (decision time). */
  from: Date;
  to: Date;
  /** One tenant only; all tenants when absent. */
  tenant?: string;
}

export interface UsageRow {
  /** The group's value: a tenant, key id, model or endpoint id; "" when unknown (no key, no endpoint). */
  group: string;
  /** Decisions in the range (denied ones included: they were requests too). */
  requests: number;
  /** Of those, the ones that ended in a successful upstream answer. */
  succeeded: number;
  inputTokens: number;
  outputTokens: number;
  costMicroUsd: number;
}

/**
 * Sums the decisions of `q.from` ≤ time < `q.to` per group, largest cost first (then by group).
 * Calls without usage (denied, failed before any answer, rows older than the usage columns)
 * count as requests with zero tokens and cost.
 */
export async function usageReport(db: Kysely<Database>, q: UsageQuery): Promise<UsageRow[]> {
  const col = sql.ref(COLUMNS[q.by]);
  let query = db
    .selectFrom("audit_decisions")
    .select([
      sql<string>`coalesce(${col}, '')`.as("grp"),
      sql<string>`count(*)`.as("requests"),
      sql<string>`count(*) filter (where outcome = 'success')`.as("succeeded"),
      sql<string>`coalesce(sum(input_tokens), 0)`.as("input_tokens"),
      sql<string>`coalesce(sum(output_tokens), 0)`.as("output_tokens"),
      sql<string>`coalesce(sum(cost_micro_usd), 0)`.as("cost_micro_usd"),
    ])
    .where("recorded_at", ">=", q.from)
    .where("recorded_at", "<", q.to);
  if (q.tenant !== undefined) query = query.where("tenant", "=", q.tenant);
  const rows = await query.groupBy(sql`1`).execute();
  return rows
    .map((r) => ({
      group: r.grp,
      requests: Number(r.requests),
      succeeded: Number(r.succeeded),
      inputTokens: Number(r.input_tokens),
      outputTokens: Number(r.output_tokens),
      costMicroUsd: Number(r.cost_micro_usd),
    }))
    .sort((a, b) => b.costMicroUsd - a.costMicroUsd || (a.group < b.group ? -1 : a.group > b.group ? 1 : 0));
}
