import type { Kysely } from "kysely";

/**
 * API keys gain an expiry, scopes and a label (issue 17): `expires_at` (NULL = never), the
 * allowed models (ids or globs) and providers, comma-separated ("" = any), the highest role the
 * key may grant to keys it creates (NULL = its own highest role) and a label. Existing keys keep
 * what they had: no expiry, no scope, no ceiling beyond their roles.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .alterTable("api_keys")
    .addColumn("expires_at", "timestamptz")
    .addColumn("label", "text", (c) => c.notNull().defaultTo(""))
    .addColumn("allowed_models", "text", (c) => c.notNull().defaultTo(""))
    .addColumn("allowed_providers", "text", (c) => c.notNull().defaultTo(""))
    .addColumn("max_role", "text")
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .alterTable("api_keys")
    .dropColumn("expires_at")
    .dropColumn("label")
    .dropColumn("allowed_models")
    .dropColumn("allowed_providers")
    .dropColumn("max_role")
    .execute();
}
