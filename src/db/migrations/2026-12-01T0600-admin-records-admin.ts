import { type Kysely, sql } from "kysely";

/**
 * Admin records in the signed log (docs/audit.md §1.2): `audit_log.kind` may be `admin`, and
 * `audit_admin_events` indexes them — filled by the log's append statement with the row, so a
 * tenant-scoped export finds a tenant's admin records by (tenant, seq) as it finds its decisions,
 * and the AuditService lists them without reading every envelope.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`alter table audit_log drop constraint if exists audit_log_kind_check`.execute(db);
  await sql`alter table audit_log add constraint audit_log_kind_check
    check (kind in ('decision', 'outcome', 'admin'))`.execute(db);
  await db.schema
    .createTable("audit_admin_events")
    .addColumn("event_id", "text", (c) => c.primaryKey())
    .addColumn("seq", "bigint", (c) => c.notNull().unique())
    .addColumn("recorded_at", "timestamptz", (c) => c.notNull())
    .addColumn("tenant", "text", (c) => c.notNull())
    .addColumn("action", "text", (c) => c.notNull())
    .execute();
  await db.schema
    .createIndex("audit_admin_events_tenant_seq_idx")
    .on("audit_admin_events")
    .columns(["tenant", "seq"])
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable("audit_admin_events").execute();
  await sql`alter table audit_log drop constraint if exists audit_log_kind_check`.execute(db);
  await sql`alter table audit_log add constraint audit_log_kind_check
    check (kind in ('decision', 'outcome'))`.execute(db);
}
