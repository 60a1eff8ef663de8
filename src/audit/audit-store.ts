/**
 * Read side of the audit log in the database (DESIGN §8): log entries by sequence number,
 * checkpoints, published keys and the decision query index. Repository functions over
 * `Kysely<Database>`; the write side is {@link AuditLog} (records) and the checkpointer.
 */
import { type Expression, type ExpressionBuilder, type Kysely, type SqlBool, sql } from "kysely";
import type { AuditCheckpointRow, AuditDecisionRow, AuditLogRow, Database } from "../db/index.js";
import { type DecisionFacetFilter, facetConditions, needsEndpointFacts } from "./decision-facet-filter.js";
import type { DsseEnvelope } from "./dsse.js";
import { ensureEndpointFacts } from "./endpoint-facts.js";
import type { PublicKeyInfo } from "./keys.js";
import { HASH_SIZE } from "./merkle.js";

/** One log entry as stored: the envelope parsed, and its JSON exactly as stored. */
export interface StoredEntry {
  /** The log shard (0 in a one-shard log). */
  shard: number;
  seq: number;
  kind: AuditLogRow["kind"];
  decisionId: string;
  recordedAt: Date;
  envelope: DsseEnvelope;
  envelopeJson: string;
  leafHash: Uint8Array;
}

export interface StoredCheckpoint {
  shard?: number;
  size: number;
  rootHash: Uint8Array;
  signedNote: string;
  createdAt: Date;
}

export function toEntry(row: AuditLogRow): StoredEntry {
  return {
    shard: Number(row.shard ?? 0),
    seq: Number(row.seq),
    kind: row.kind,
    decisionId: row.decision_id,
    recordedAt: row.recorded_at,
    envelope: JSON.parse(row.envelope) as DsseEnvelope,
    envelopeJson: row.envelope,
    leafHash: row.leaf_hash,
  };
}

function toCheckpoint(row: AuditCheckpointRow): StoredCheckpoint {
  return {
    shard: Number(row.shard ?? 0),
    size: Number(row.size),
    rootHash: row.root_hash,
    signedNote: row.signed_note,
    createdAt: row.created_at,
  };
}

/** Number of entries in the log (max seq + 1; equal to the row count while the log is dense). */
export async function logSize(db: Kysely<Database>, shard = 0): Promise<number> {
  const { next } = await db
    .selectFrom("audit_log")
    .select(sql<number>`coalesce(max(seq) + 1, 0)::int8`.as("next"))
    .where("shard", "=", shard)
    .executeTakeFirstOrThrow();
  return Number(next);
}

/** Entries with `from <= seq < to`, in sequence order, read in pages (large logs stream). */
export async function* readEntries(
  db: Kysely<Database>,
  from: number,
  to: number = Number.MAX_SAFE_INTEGER,
  pageSize = 1000,
  shard = 0,
): AsyncGenerator<StoredEntry> {
  let next = from;
  while (next < to) {
    const rows = await db
      .selectFrom("audit_log")
      .selectAll()
      .where("shard", "=", shard)
      .where("seq", ">=", next)
      .where("seq", "<", to)
      .orderBy("seq")
      .limit(pageSize)
      .execute();
    for (const row of rows) yield toEntry(row);
    if (rows.length < pageSize) return;
    next = Number(rows.at(-1)!.seq) + 1;
  }
}

/** Where a tenant's entries are found by sequence number: its decisions, their outcomes, its admin records. */
const TENANT_ENTRY_INDEXES = [
  { table: "audit_decisions", seq: "decision_seq" },
  { table: "audit_outcome_seqs", seq: "seq" },
  { table: "audit_admin_events", seq: "seq" },
] as const;

/** One of them's rows of `tenant` in `shard` with `from <= seq < to`: a range of its (tenant, …, seq) index. */
function tenantRange(
  db: Kysely<Database>,
  index: (typeof TENANT_ENTRY_INDEXES)[number],
  tenant: string,
  shard: number,
  from: number,
  to: number,
) {
  const seq = sql.ref<number>(index.seq);
  return db
    .selectFrom(index.table)
    .where("tenant", "=", tenant)
    .where("shard", "=", shard)
    .where(seq, ">=", from)
    .where(seq, "<", to);
}

/**
 * Up to `limit` sequence numbers of `tenant`'s entries (its decisions, their outcomes and its
 * admin records) in `from <= seq < to`, ascending. Each is a range scan of its index bounded by
 * `limit`, so a page costs the same at the start and the end of a long history.
 */
async function tenantSeqPage(
  db: Kysely<Database>,
  tenant: string,
  from: number,
  to: number,
  limit: number,
  shard: number,
): Promise<number[]> {
  const sides = await Promise.all(
    TENANT_ENTRY_INDEXES.map(async (index) => {
      const seq = sql.ref<number>(index.seq);
      const rows = await tenantRange(db, index, tenant, shard, from, to)
        .select(seq.as("seq"))
        .orderBy(seq)
        .limit(limit)
        .execute();
      return rows.map((r) => Number(r.seq));
    }),
  );
  return sides
    .flat()
    .sort((x, y) => x - y)
    .slice(0, limit);
}

/** How many entries of `tenant` lie in `from <= seq < to`. */
export async function countTenantEntries(
  db: Kysely<Database>,
  tenant: string,
  from: number,
  to: number,
  shard = 0,
): Promise<number> {
  const counts = await Promise.all(
    TENANT_ENTRY_INDEXES.map(async (index) => {
      const row = await tenantRange(db, index, tenant, shard, from, to)
        .select((eb) => eb.fn.countAll<number>().as("n"))
        .executeTakeFirstOrThrow();
      return Number(row.n);
    }),
  );
  return counts.reduce((a, b) => a + b, 0);
}

/** `tenant`'s entries with `from <= seq < to`, in sequence order, read in pages. */
export async function* readTenantEntries(
  db: Kysely<Database>,
  tenant: string,
  from: number,
  to: number,
  pageSize = 1000,
  shard = 0,
): AsyncGenerator<StoredEntry> {
  let next = from;
  while (next < to) {
    const seqs = await tenantSeqPage(db, tenant, next, to, pageSize, shard);
    if (seqs.length === 0) return;
    const rows = await db
      .selectFrom("audit_log")
      .selectAll()
      .where("shard", "=", shard)
      .where("seq", "in", seqs)
      .orderBy("seq")
      .execute();
    for (const row of rows) yield toEntry(row);
    if (seqs.length < pageSize) return;
    next = seqs.at(-1)! + 1;
  }
}

/** The leaf hashes stored at [from, to) of `shard`, in order: fewer when rows are missing. */
export async function leafHashesIn(
  db: Kysely<Database>,
  from: number,
  to: number,
  shard = 0,
): Promise<Uint8Array[]> {
  const leaves: Uint8Array[] = [];
  for await (const { leafHash } of readLeafHashes(db, from, to, Math.max(1, to - from), shard))
    leaves.push(leafHash);
  return leaves;
}

/**
 * `(seq, leaf_hash)` pairs only, for rebuilding the Merkle tree cheaply. A dense page comes back
 * as one value — its leaf hashes concatenated in order, with the count and the first and last
 * `seq` —, half the time of a row per leaf (30,000 leaves on PGlite: 134–144 against 277–297
 * ms). From a page with a gap, a leaf hash of another length or fewer rows than asked on, the
 * rows are read one by one, so the caller sees them as they are.
 */
export async function* readLeafHashes(
  db: Kysely<Database>,
  from: number,
  to: number,
  pageSize = 10_000,
  shard = 0,
): AsyncGenerator<{ seq: number; leafHash: Uint8Array }> {
  let next = from;
  while (next < to) {
    const end = Math.min(to, next + pageSize);
    const { rows } = await sql<{ hashes: Uint8Array | null; n: number; first: unknown; last: unknown }>`
      select string_agg(leaf_hash, ''::bytea order by seq) as hashes, count(*)::int4 as n,
             min(seq) as first, max(seq) as last
      from audit_log where shard = ${shard} and seq >= ${next} and seq < ${end}`.execute(db);
    const { hashes, n, first, last } = rows[0]!;
    const dense = n === end - next && Number(first) === next && Number(last) === end - 1;
    if (!dense || hashes?.length !== n * HASH_SIZE) break;
    for (let i = 0; i < n; i++)
      yield { seq: next + i, leafHash: hashes.subarray(i * HASH_SIZE, (i + 1) * HASH_SIZE) };
    next = end;
  }
  while (next < to) {
    const rows = await db
      .selectFrom("audit_log")
      .select(["seq", "leaf_hash"])
      .where("shard", "=", shard)
      .where("seq", ">=", next)
      .where("seq", "<", to)
      .orderBy("seq")
      .limit(pageSize)
      .execute();
    for (const r of rows) yield { seq: Number(r.seq), leafHash: r.leaf_hash };
    if (rows.length < pageSize) return;
    next = Number(rows.at(-1)!.seq) + 1;
  }
}

/** The decision entry of `decisionId` and its outcome entry, when present. */
export async function decisionEntries(
  db: Kysely<Database>,
  decisionId: string,
): Promise<{ decision?: StoredEntry; outcome?: StoredEntry }> {
  const rows = await db
    .selectFrom("audit_log")
    .selectAll()
    .where("decision_id", "=", decisionId)
    .where("kind", "in", ["decision", "outcome"])
    .execute();
  const out: { decision?: StoredEntry; outcome?: StoredEntry } = {};
  for (const r of rows) if (r.kind !== "admin") out[r.kind] = toEntry(r);
  return out;
}

export async function latestCheckpoint(
  db: Kysely<Database>,
  shard = 0,
): Promise<StoredCheckpoint | undefined> {
  const row = await db
    .selectFrom("audit_checkpoints")
    .selectAll()
    .where("shard", "=", shard)
    .orderBy("size", "desc")
    .limit(1)
    .executeTakeFirst();
  return row && toCheckpoint(row);
}

export async function checkpointAt(
  db: Kysely<Database>,
  size: number,
  shard = 0,
): Promise<StoredCheckpoint | undefined> {
  const row = await db
    .selectFrom("audit_checkpoints")
    .selectAll()
    .where("shard", "=", shard)
    .where("size", "=", size)
    .executeTakeFirst();
  return row && toCheckpoint(row);
}

/** Every checkpoint of at most `maxSize` leaves, in increasing size. */
export async function checkpointsUpTo(
  db: Kysely<Database>,
  maxSize: number,
  shard = 0,
): Promise<StoredCheckpoint[]> {
  const rows = await db
    .selectFrom("audit_checkpoints")
    .selectAll()
    .where("shard", "=", shard)
    .where("size", "<=", maxSize)
    .orderBy("size")
    .execute();
  return rows.map(toCheckpoint);
}

/** The published record- and checkpoint-signing keys with their validity (µs). */
export async function publishedKeys(db: Kysely<Database>): Promise<PublicKeyInfo[]> {
  const rows = await db.selectFrom("signing_keys").selectAll().orderBy("valid_from").execute();
  return rows.map((r) => ({
    keyId: r.key_id,
    publicKeyRaw: r.public_key,
    validFromUs: r.valid_from.getTime() * 1000,
    validUntilUs: r.valid_until ? r.valid_until.getTime() * 1000 : null,
  }));
}

/** The index filters; the auditor's filters on facets and endpoint attributes are {@link DecisionFacetFilter}'s. */
export interface DecisionFilter extends DecisionFacetFilter {
  /** Inclusive. */
  from?: Date;
  /** Exclusive. */
  to?: Date;
  tenant?: string;
  model?: string;
  endpointId?: string;
  outcome?: AuditDecisionRow["outcome"];
  policyRevision?: string;
}

/**
 * `filter` as one condition on `audit_decisions` (qualified names, so it also applies where the
 * table is joined: the live feed, src/audit/watch-store.ts).
 */
export function decisionFilterExpression<TB extends "audit_decisions">(
  eb: ExpressionBuilder<Database, TB>,
  filter: DecisionFilter,
): Expression<SqlBool> {
  const e = eb as unknown as ExpressionBuilder<Database, "audit_decisions">;
  const parts: Expression<SqlBool>[] = [];
  if (filter.from) parts.push(e("audit_decisions.recorded_at", ">=", filter.from));
  if (filter.to) parts.push(e("audit_decisions.recorded_at", "<", filter.to));
  if (filter.tenant) parts.push(e("audit_decisions.tenant", "=", filter.tenant));
  if (filter.model) parts.push(e("audit_decisions.model", "=", filter.model));
  if (filter.endpointId) parts.push(e("audit_decisions.endpoint_id", "=", filter.endpointId));
  if (filter.outcome) parts.push(e("audit_decisions.outcome", "=", filter.outcome));
  if (filter.policyRevision) parts.push(e("audit_decisions.policy_revision", "=", filter.policyRevision));
  parts.push(...facetConditions(e, filter));
  return e.and(parts);
}

/** Position after the last row of a page: rows are ordered by (recorded_at, decision_id). */
export interface DecisionCursor {
  recordedAt: Date;
  decisionId: string;
}

/** One page of the decision index matching `filter`, ordered by time then decision id. */
export async function queryDecisions(
  db: Kysely<Database>,
  filter: DecisionFilter,
  limit: number,
  after?: DecisionCursor,
): Promise<{ rows: AuditDecisionRow[]; next?: DecisionCursor }> {
  if (needsEndpointFacts(filter)) await ensureEndpointFacts(db);
  let q = db
    .selectFrom("audit_decisions")
    .selectAll()
    .where((eb) => decisionFilterExpression(eb, filter));
  if (after) {
    q = q.where((eb) =>
      eb.or([
        eb("recorded_at", ">", after.recordedAt),
        eb.and([eb("recorded_at", "=", after.recordedAt), eb("decision_id", ">", after.decisionId)]),
      ]),
    );
  }
  const rows = await q
    .orderBy("recorded_at")
    .orderBy("decision_id")
    .limit(limit + 1)
    .execute();
  if (rows.length <= limit) return { rows };
  const page = rows.slice(0, limit);
  const last = page.at(-1)!;
  return { rows: page, next: { recordedAt: last.recorded_at, decisionId: last.decision_id } };
}
