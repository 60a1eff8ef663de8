import type { Kysely } from "kysely";

/**
 * The origins each BYOK key is approved for (issue 11): a JSON array of normalised origins,
 * bound into the key's AES-GCM associated data. Existing rows keep NULL: they decrypt as before
 * but are approved for no origin until a tenant admin approves (fail closed on upgrade).
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable("byok_keys").addColumn("origins", "text").execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable("byok_keys").dropColumn("origins").execute();
}
