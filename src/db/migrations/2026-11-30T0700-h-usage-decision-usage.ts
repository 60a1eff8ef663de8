import type { Kysely } from "kysely";

/**
 * The usage report (issue 17, `UsageService.GetUsage`, src/audit/usage-report.ts) reads the
 * decisions' query index: each decision row gains the API key the call came with, and its
 * outcome's tokens and cost, written by the log's own append statement (audit-log.ts), so the
 * report adds up exactly what the signed outcome records say.
 *
 * No rollup table: a report is a range scan over the existing `(recorded_at, decision_id)` and
 * `(tenant, recorded_at)` indexes that sums four columns, and a rollup would be one more write
 * per request on the hot path (and a second place that could disagree with the log). Rows
 * written before this migration have NULLs: their key and usage count as unknown ("" and 0).
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .alterTable("audit_decisions")
    .addColumn("key_id", "text")
    .addColumn("input_tokens", "bigint")
    .addColumn("output_tokens", "bigint")
    .addColumn("cost_micro_usd", "bigint")
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .alterTable("audit_decisions")
    .dropColumn("cost_micro_usd")
    .dropColumn("output_tokens")
    .dropColumn("input_tokens")
    .dropColumn("key_id")
    .execute();
}
