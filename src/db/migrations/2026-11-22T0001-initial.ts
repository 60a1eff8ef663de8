import { type Kysely, sql } from "kysely";

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable("catalog_revisions")
    .addColumn("revision", "text", (c) => c.primaryKey())
    .addColumn("canonical", "text", (c) => c.notNull())
    .addColumn("provider_count", "integer", (c) => c.notNull())
    .addColumn("endpoint_count", "integer", (c) => c.notNull())
    .addColumn("created_at", "timestamptz", (c) => c.notNull().defaultTo(sql`now()`))
    .execute();

  await db.schema
    .createTable("policy_bundles")
    .addColumn("sha256", "text", (c) => c.primaryKey())
    .addColumn("revision", "text", (c) => c.notNull())
    .addColumn("bundle", "bytea", (c) => c.notNull())
    .addColumn("created_at", "timestamptz", (c) => c.notNull().defaultTo(sql`now()`))
    .execute();

  await db.schema
    .createTable("audit_log")
    .addColumn("seq", "bigint", (c) => c.primaryKey())
    .addColumn("kind", "text", (c) => c.notNull().check(sql`kind in ('decision', 'outcome')`))
    .addColumn("decision_id", "text", (c) => c.notNull())
    .addColumn("recorded_at", "timestamptz", (c) => c.notNull())
    .addColumn("envelope", "text", (c) => c.notNull())
    .addColumn("leaf_hash", "bytea", (c) => c.notNull())
    .execute();
  await db.schema
    .createIndex("audit_log_decision_idx")
    .on("audit_log")
    .columns(["decision_id", "kind"])
    .unique()
    .execute();

  await db.schema
    .createTable("audit_decisions")
    .addColumn("decision_id", "text", (c) => c.primaryKey())
    .addColumn("recorded_at", "timestamptz", (c) => c.notNull())
    .addColumn("tenant", "text", (c) => c.notNull())
    .addColumn("model", "text", (c) => c.notNull())
    .addColumn("endpoint_id", "text")
    .addColumn("outcome", "text", (c) => c.notNull())
    .addColumn("policy_revision", "text", (c) => c.notNull())
    .addColumn("policy_sha256", "text", (c) => c.notNull())
    .addColumn("catalog_revision", "text", (c) => c.notNull())
    .addColumn("decision_seq", "bigint", (c) => c.notNull())
    .addColumn("outcome_seq", "bigint")
    .execute();
  await db.schema
    .createIndex("audit_decisions_time_idx")
    .on("audit_decisions")
    .columns(["recorded_at", "decision_id"])
    .execute();
  await db.schema
    .createIndex("audit_decisions_tenant_idx")
    .on("audit_decisions")
    .columns(["tenant", "recorded_at"])
    .execute();

  await db.schema
    .createTable("audit_checkpoints")
    .addColumn("size", "bigint", (c) => c.primaryKey())
    .addColumn("root_hash", "bytea", (c) => c.notNull())
    .addColumn("signed_note", "text", (c) => c.notNull())
    .addColumn("created_at", "timestamptz", (c) => c.notNull().defaultTo(sql`now()`))
    .execute();

  await db.schema
    .createTable("signing_keys")
    .addColumn("key_id", "text", (c) => c.primaryKey())
    .addColumn("algorithm", "text", (c) => c.notNull())
    .addColumn("public_key", "bytea", (c) => c.notNull())
    .addColumn("valid_from", "timestamptz", (c) => c.notNull())
    .addColumn("valid_until", "timestamptz")
    .execute();

  // The log is append-only: the database itself refuses updates and deletes of its rows.
  await sql`
    create function audit_log_append_only() returns trigger language plpgsql as $$
    begin
      raise exception 'audit_log is append-only';
    end $$`.execute(db);
  await sql`
    create trigger audit_log_no_update before update or delete on audit_log
    for each row execute function audit_log_append_only()`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`drop trigger if exists audit_log_no_update on audit_log`.execute(db);
  await sql`drop function if exists audit_log_append_only()`.execute(db);
  for (const t of [
    "signing_keys",
    "audit_checkpoints",
    "audit_decisions",
    "audit_log",
    "policy_bundles",
    "catalog_revisions",
  ]) {
    await db.schema.dropTable(t).ifExists().execute();
  }
}
