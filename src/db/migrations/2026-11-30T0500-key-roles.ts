import type { Kysely } from "kysely";

/**
 * Roles that respect tenants (issue 11): keys gain `all_tenants`, an auditor's grant to read
 * every tenant's decision records (only an operator can create such a key; false for every
 * existing key). The `roles` column keeps its values: an existing `admin` key stays `admin`,
 * which from this version on means the TENANT admin of its own tenant (its keys and BYOK only);
 * catalog changes and other tenants belong to the new `operator` role, which no existing key has.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .alterTable("api_keys")
    .addColumn("all_tenants", "boolean", (c) => c.notNull().defaultTo(false))
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable("api_keys").dropColumn("all_tenants").execute();
}
