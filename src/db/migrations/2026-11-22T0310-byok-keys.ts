import { type Kysely, sql } from "kysely";

/**
 * Per-tenant provider keys (BYOK, docs/architecture.md §6), encrypted with AES-256-GCM under the master key
 * (`SOVR_MASTER_KEY`). Only ciphertext is stored; `master_key_id` names the master key used so
 * a rotation can tell which rows it still has to re-encrypt.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable("byok_keys")
    .addColumn("tenant", "text", (c) => c.notNull())
    .addColumn("provider", "text", (c) => c.notNull())
    .addColumn("ciphertext", "bytea", (c) => c.notNull())
    .addColumn("nonce", "bytea", (c) => c.notNull())
    .addColumn("master_key_id", "text", (c) => c.notNull())
    .addColumn("always", "boolean", (c) => c.notNull().defaultTo(false))
    .addColumn("updated_at", "timestamptz", (c) => c.notNull().defaultTo(sql`now()`))
    .addPrimaryKeyConstraint("byok_keys_pk", ["tenant", "provider"])
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable("byok_keys").execute();
}
