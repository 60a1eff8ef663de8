import { type Kysely, sql } from "kysely";

/**
 * Record format v2's per-tenant sequence (`tenant_seq`, docs/audit.md §1): the last number
 * committed per tenant. The log's append statement checks a batch against it and advances it
 * in the same statement, under the sequencer lock (src/audit/audit-log.ts, tenant-heads.ts).
 * Records logged before v2 have no number: every tenant's first v2 record gets 1.
 *
 * A tenant-scoped export reads a tenant's entries by sequence number from the query index:
 * indexes on (tenant, decision_seq) and (tenant, outcome_seq) make that a range scan.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable("audit_tenant_heads")
    .addColumn("tenant", "text", (c) => c.primaryKey())
    .addColumn("head", "bigint", (c) => c.notNull().check(sql`head >= 1`))
    .execute();
  await db.schema
    .createIndex("audit_decisions_tenant_decision_seq_idx")
    .on("audit_decisions")
    .columns(["tenant", "decision_seq"])
    .execute();
  await db.schema
    .createIndex("audit_decisions_tenant_outcome_seq_idx")
    .on("audit_decisions")
    .columns(["tenant", "outcome_seq"])
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropIndex("audit_decisions_tenant_outcome_seq_idx").execute();
  await db.schema.dropIndex("audit_decisions_tenant_decision_seq_idx").execute();
  await db.schema.dropTable("audit_tenant_heads").execute();
}
