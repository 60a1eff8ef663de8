import { type Kysely, sql } from "kysely";

/**
 * `audit_log` is read by key only (a shard's sequence range, a decision's entries): its
 * statistics need little beyond the row count, which a vacuum keeps. An analyze samples 300 ×
 * the largest column target rows, and each sampled row here is a ~2 kB envelope: at the default
 * target (100) 30,000 rows, ~250–400 ms on the embedded database, where it holds the one
 * session the appends wait for (pglite-vacuum.mjs). The envelope and leaf hash get no
 * statistics (never compared), the other columns a target of 10: 3,000 rows, ~25 ms.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`alter table audit_log
    alter column envelope set statistics 0, alter column leaf_hash set statistics 0,
    alter column shard set statistics 10, alter column seq set statistics 10,
    alter column kind set statistics 10, alter column decision_id set statistics 10,
    alter column recorded_at set statistics 10`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`alter table audit_log
    alter column envelope set statistics -1, alter column leaf_hash set statistics -1,
    alter column shard set statistics -1, alter column seq set statistics -1,
    alter column kind set statistics -1, alter column decision_id set statistics -1,
    alter column recorded_at set statistics -1`.execute(db);
}
