/**
 * Read side of the admin trail (docs/audit.md §1.2): admin records by tenant, action and time,
 * newest first, and the changes committed before a given decision — "who changed the rules
 * before this decision". The `audit_admin_events` index finds them; each comes with its log
 * entry (envelope as stored), decoded and checked against the admin schema.
 */
import type { Kysely } from "kysely";
import type { Database } from "../db/index.js";
import { type StoredEntry, toEntry } from "./audit-store.js";
import { envelopePayload } from "./dsse.js";
import type { AdminRecord } from "./record.js";
import { decodeRecord, validateRecord } from "./record.js";

export interface AdminFilter {
  /** Only these tenants' records; undefined = every tenant's. */
  tenants?: readonly string[];
  action?: string;
  /** Committed at or after. */
  from?: Date;
  /** Committed before (exclusive). */
  to?: Date;
  /** Only entries with a lower seq (committed before the entry at this seq). */
  beforeSeq?: number;
}

export interface AdminEntry {
  entry: StoredEntry;
  record: AdminRecord;
}

/**
 * Up to `limit` admin entries matching `filter`, newest (highest seq) first, after the page
 * cursor `below` (the last seq of the previous page). `next` is set when more match.
 */
export async function queryAdminRecords(
  db: Kysely<Database>,
  filter: AdminFilter,
  limit: number,
  below?: number,
): Promise<{ entries: AdminEntry[]; next?: number }> {
  if (filter.tenants?.length === 0) return { entries: [] };
  let q = db
    .selectFrom("audit_admin_events as a")
    // (shard, seq) is a log row's key (log shards, log-shards.ts).
    .innerJoin("audit_log as l", (j) => j.onRef("l.shard", "=", "a.shard").onRef("l.seq", "=", "a.seq"))
    .selectAll("l");
  if (filter.tenants) q = q.where("a.tenant", "in", filter.tenants);
  if (filter.action) q = q.where("a.action", "=", filter.action);
  if (filter.from) q = q.where("a.recorded_at", ">=", filter.from);
  if (filter.to) q = q.where("a.recorded_at", "<", filter.to);
  const ceiling = Math.min(filter.beforeSeq ?? Number.MAX_SAFE_INTEGER, below ?? Number.MAX_SAFE_INTEGER);
  if (ceiling < Number.MAX_SAFE_INTEGER) q = q.where("a.seq", "<", ceiling);
  const rows = await q
    .orderBy("a.seq", "desc")
    .limit(limit + 1)
    .execute();
  const entries = rows.slice(0, limit).map((row) => {
    const entry = toEntry(row);
    // decodeRecord checks the bytes (canonical, integers, version); the schema checks the shape.
    const record = validateRecord(decodeRecord(envelopePayload(entry.envelope))) as AdminRecord;
    return { entry, record };
  });
  return rows.length > limit ? { entries, next: entries.at(-1)!.entry.seq } : { entries };
}

/** The seq and tenant of a decision's record, or undefined when the log has none. */
export async function decisionPosition(
  db: Kysely<Database>,
  decisionId: string,
): Promise<{ seq: number; tenant: string } | undefined> {
  const row = await db
    .selectFrom("audit_decisions")
    .select(["decision_seq", "tenant"])
    .where("decision_id", "=", decisionId)
    .executeTakeFirst();
  return row && { seq: Number(row.decision_seq), tenant: row.tenant };
}
