import type { Kysely } from "kysely";

/**
 * Cluster-wide rate limits (issue 17, SOVR_RATE_LIMIT_SCOPE=cluster): one counter row per
 * subject (a key's or tenant's requests or tokens) and fixed window, holding the units the
 * replicas have leased (src/api/transport/leased-windows.ts). Rows older than the previous
 * window are deleted by the replicas as windows pass; the table holds about two windows of
 * the subjects that made calls.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable("rate_limit_windows")
    .addColumn("subject", "text", (c) => c.notNull())
    .addColumn("window_start", "bigint", (c) => c.notNull())
    .addColumn("used", "bigint", (c) => c.notNull())
    .addPrimaryKeyConstraint("rate_limit_windows_pk", ["subject", "window_start"])
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable("rate_limit_windows").execute();
}
