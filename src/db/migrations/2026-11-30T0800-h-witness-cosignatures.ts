import { type Kysely, sql } from "kysely";

/**
 * Witness cosignatures (C2SP tlog-cosignature, docs/audit.md §6.1): what each configured
 * witness returned from `add-checkpoint` for a checkpoint of ours, kept as the note signature
 * line it sent (`— <witness name> <base64>`), so a checkpoint's cosigned note is its signed note
 * followed by these lines. One row per checkpoint and witness (its verifier key); a later answer
 * for the same pair replaces the earlier one.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable("audit_cosignatures")
    .addColumn("size", "bigint", (c) => c.notNull().references("audit_checkpoints.size"))
    .addColumn("witness", "text", (c) => c.notNull())
    .addColumn("signature", "text", (c) => c.notNull())
    .addColumn("cosigned_at", "timestamptz", (c) => c.notNull())
    .addColumn("created_at", "timestamptz", (c) => c.notNull().defaultTo(sql`now()`))
    .addPrimaryKeyConstraint("audit_cosignatures_pkey", ["size", "witness"])
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable("audit_cosignatures").execute();
}
