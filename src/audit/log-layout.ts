/**
 * The shard layout a log is written with is fixed once it holds records (docs/audit.md §10):
 * moving a tenant to another shard would break the density of its `tenant_seq` within a shard,
 * and re-partitioning signed, checkpointed shards is not defined. A start with another layout
 * is refused, naming the stored one and the fix.
 */
import type { Kysely } from "kysely";
import type { Database } from "../db/index.js";
import { mapFingerprint, type ShardLayout } from "./log-shards.js";

export class LogLayoutError extends Error {
  override name = "LogLayoutError";
}

/**
 * Records the layout on the log's first start; afterwards checks it is the stored one. A log
 * from before shards (records, no stored layout) was written with one shard and no map.
 */
export async function ensureLogLayout(db: Kysely<Database>, layout: ShardLayout): Promise<void> {
  const wanted = { shards: layout.shards, shard_map: mapFingerprint(layout) };
  await db.transaction().execute(async (trx) => {
    let stored = await trx.selectFrom("audit_log_layout").select(["shards", "shard_map"]).executeTakeFirst();
    if (!stored) {
      const any = await trx.selectFrom("audit_log").select("seq").limit(1).executeTakeFirst();
      stored = any ? { shards: 1, shard_map: "" } : wanted;
      await trx
        .insertInto("audit_log_layout")
        .values({ id: 1, ...stored })
        .onConflict((oc) => oc.doNothing())
        .execute();
      stored = await trx
        .selectFrom("audit_log_layout")
        .select(["shards", "shard_map"])
        .executeTakeFirstOrThrow();
    }
    if (stored.shards === wanted.shards && stored.shard_map === wanted.shard_map) return;
    const any = await trx.selectFrom("audit_log").select("seq").limit(1).executeTakeFirst();
    if (!any) {
      // An empty log may still change its layout.
      await trx.updateTable("audit_log_layout").set(wanted).where("id", "=", 1).execute();
      return;
    }
    throw new LogLayoutError(
      `the audit log was written with SOVR_LOG_SHARDS=${stored.shards} and SOVR_LOG_SHARD_MAP=${JSON.stringify(stored.shard_map)}, ` +
        `not ${wanted.shards} and ${JSON.stringify(wanted.shard_map)}: the shard layout of a log that holds records cannot change. ` +
        "Start with the stored values, or start a new log (a new database) with the new layout and keep the old one's export.",
    );
  });
}
