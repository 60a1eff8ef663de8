import type { Kysely } from "kysely";

/**
 * When a key's expiry was written to the signed log as an admin record (`key.expire`), so that
 * one replica records it once (issue 17: the admin trail). NULL: not expired, or not recorded
 * yet. Keys that expired before this column existed are recorded by the first sweep.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable("api_keys").addColumn("expiry_recorded_at", "timestamptz").execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable("api_keys").dropColumn("expiry_recorded_at").execute();
}
