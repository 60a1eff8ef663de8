/**
 * The log's append statement (audit-log.ts): a batch of records as column arrays, written in ONE
 * statement with the dense `seq` (of one shard, $23: log-shards.ts), the query-index rows (decisions, outcomes, admin events) and
 * the tenants' `tenant_seq` heads.
 */
import type { Kysely, Transaction } from "kysely";
import type { AuditDecisionsTable, Database } from "../db/index.js";
import { byteaArray, int8Array, preparedStatement, textArray, timestamptzArray } from "../db/index.js";
import type { RefusedForm } from "./co-commit.js";
import { batchClaims, type TenantSlot } from "./tenant-heads.js";

/** Query-index fields a decision record contributes. */
export type DecisionIndex = Omit<
  AuditDecisionsTable,
  | "decision_id"
  | "shard"
  | "recorded_at"
  | "decision_seq"
  | "outcome_seq"
  | "key_id"
  | "facets"
  | keyof OutcomeUsage
> & { key_id?: string | null; facets?: readonly string[] };

/** What an outcome adds to its decision's index row: the usage report's columns (src/audit/usage-report.ts). */
export type OutcomeUsage = Pick<AuditDecisionsTable, "input_tokens" | "output_tokens" | "cost_micro_usd">;

/** Where a record's bytes come from. */
export type RecordBytes =
  /** Signed as given, with no place in a tenant's sequence (v1 records). */
  | { payload: Uint8Array }
  /**
   * A v2 record of `tenant`: `encode` gives its bytes for the `tenant_seq` the log assigns (it
   * may be called again with another number if the first could not be committed).
   */
  | { tenant: string; encode: (tenantSeq: number) => Uint8Array };

export type AppendRequest = RecordBytes & {
  /** Committed in the same transaction as the record, by the log's {@link CoCommitHook}. */
  work?: unknown;
} & (
    | {
        kind: "decision";
        decisionId: string;
        recordedAt: Date;
        index: DecisionIndex;
        /** What is written instead when the hook refuses `work` (a v2 record of the same tenant). */
        refused?: RefusedForm;
      }
    | {
        kind: "outcome";
        decisionId: string;
        recordedAt: Date;
        outcome: AuditDecisionsTable["outcome"];
        endpointId: string | null;
        usage?: OutcomeUsage;
      }
    /** An admin record (v2 only): indexed by its tenant and action. */
    | { kind: "admin"; eventId: string; recordedAt: Date; tenant: string; action: string }
  );

/**
 * The tenant whose shard a record goes to. A v1 record (bytes only) names none in the request:
 * its decision or outcome index row does, and an outcome carries none: it goes where its
 * decision went, by the decision's tenant — callers of a sharded log append v2 records only.
 */
export function tenantOf(req: AppendRequest): string {
  if ("tenant" in req) return req.tenant;
  if (req.kind === "decision") return req.index.tenant;
  throw new Error("a sharded log needs v2 records: an outcome record without its tenant has no shard");
}

/**
 * Whether the record's caller waits for its commit: a decision (the prompt waits) and an admin
 * record (the change waits). Outcome records hold nobody.
 */
export function holdsCaller(req: AppendRequest): boolean {
  return req.kind !== "outcome";
}

/** What the statement needs of a queued record. */
export interface BatchEntry {
  req: AppendRequest;
  /** v2 records: the tenant and the number the record is signed with. */
  slot?: TenantSlot;
  /**
   * The signed envelope's canonical JSON (the stored row), as text or as its UTF-8 bytes: the
   * journal's backlog keeps bytes (journal.ts journaledEntry), which live outside the V8 heap.
   */
  envelopeJson: string | Uint8Array;
  leaf: Uint8Array;
}

/** The records that have a tenant_seq, in log order. */
export function slotsOf(records: readonly BatchEntry[]): TenantSlot[] {
  return records.flatMap((p) => (p.slot ? [p.slot] : []));
}

/** A batch as column arrays, the shape {@link appendBatch} sends (one array per column). */
interface BatchRows {
  kind: string[];
  decisionId: string[];
  recordedAt: Date[];
  envelope: (string | Uint8Array)[];
  leafHash: Uint8Array[];
  tenant: (string | null)[];
  model: (string | null)[];
  endpointId: (string | null)[];
  outcome: (string | null)[];
  policyRevision: (string | null)[];
  policySha256: (string | null)[];
  catalogRevision: (string | null)[];
  keyId: (string | null)[];
  inputTokens: (number | null)[];
  outputTokens: (number | null)[];
  costMicroUsd: (number | null)[];
  /** For a decision whose outcome is in the same batch: that outcome's position. */
  outcomeOrd: (number | null)[];
  /** An admin record's action. */
  action: (string | null)[];
  /** A decision's facets, newline-separated (decision-facets.ts); null otherwise. */
  facets: (string | null)[];
}

/** The batch's columns as binary Postgres arrays, in {@link APPEND_BATCH}'s parameter order. */
export function batchParams(
  batch: readonly BatchEntry[],
  shard = 0,
): { params: Uint8Array[]; tenants: string[] } {
  const r = batchRows(batch);
  const claims = batchClaims(slotsOf(batch));
  const params = [
    textArray(r.kind),
    textArray(r.decisionId),
    timestamptzArray(r.recordedAt),
    textArray(r.envelope),
    byteaArray(r.leafHash),
    textArray(r.tenant),
    textArray(r.model),
    textArray(r.endpointId),
    textArray(r.outcome),
    textArray(r.policyRevision),
    textArray(r.policySha256),
    textArray(r.catalogRevision),
    int8Array(r.outcomeOrd),
    textArray(claims.tenant),
    int8Array(claims.prev),
    int8Array(claims.last),
    textArray(r.keyId),
    int8Array(r.inputTokens),
    int8Array(r.outputTokens),
    int8Array(r.costMicroUsd),
    textArray(r.action),
    textArray(r.facets),
    int4(shard),
  ];
  return { params, tenants: claims.tenant };
}

function batchRows(batch: readonly BatchEntry[]): BatchRows {
  const r: BatchRows = {
    kind: [],
    decisionId: [],
    recordedAt: [],
    envelope: [],
    leafHash: [],
    tenant: [],
    model: [],
    endpointId: [],
    outcome: [],
    policyRevision: [],
    policySha256: [],
    catalogRevision: [],
    keyId: [],
    inputTokens: [],
    outputTokens: [],
    costMicroUsd: [],
    outcomeOrd: [],
    action: [],
    facets: [],
  };
  // An outcome whose decision is in the same batch cannot update the decision's index row
  // (one statement, one snapshot): it is folded into the row as it is inserted.
  const decisionAt = new Map<string, number>();
  batch.forEach((p, i) => {
    const q = p.req;
    r.kind.push(q.kind);
    r.decisionId.push(q.kind === "admin" ? q.eventId : q.decisionId);
    r.recordedAt.push(q.recordedAt);
    r.envelope.push(p.envelopeJson);
    r.leafHash.push(p.leaf);
    r.outcomeOrd.push(null);
    r.action.push(q.kind === "admin" ? q.action : null);
    r.facets.push(q.kind === "decision" && q.index.facets ? q.index.facets.join("\n") : null);
    if (q.kind === "admin") {
      r.tenant.push(q.tenant);
      for (const col of [
        r.model,
        r.endpointId,
        r.outcome,
        r.policyRevision,
        r.policySha256,
        r.catalogRevision,
        r.keyId,
      ])
        col.push(null);
      pushUsage(r, undefined);
    } else if (q.kind === "decision") {
      decisionAt.set(q.decisionId, i);
      r.tenant.push(q.index.tenant);
      r.model.push(q.index.model);
      r.endpointId.push(q.index.endpoint_id);
      r.outcome.push(q.index.outcome);
      r.policyRevision.push(q.index.policy_revision);
      r.policySha256.push(q.index.policy_sha256);
      r.catalogRevision.push(q.index.catalog_revision);
      r.keyId.push(q.index.key_id ?? null);
      pushUsage(r, undefined);
    } else {
      r.tenant.push(null);
      r.model.push(null);
      r.endpointId.push(q.endpointId);
      r.outcome.push(q.outcome);
      r.policyRevision.push(null);
      r.policySha256.push(null);
      r.catalogRevision.push(null);
      r.keyId.push(null);
      pushUsage(r, q.usage);
      const d = decisionAt.get(q.decisionId);
      if (d !== undefined) {
        r.outcome[d] = q.outcome;
        r.endpointId[d] = q.endpointId;
        r.outcomeOrd[d] = i;
        r.inputTokens[d] = r.inputTokens[i]!;
        r.outputTokens[d] = r.outputTokens[i]!;
        r.costMicroUsd[d] = r.costMicroUsd[i]!;
      }
    }
  });
  return r;
}

/** One int4 in Postgres binary form (network order). */
function int4(n: number): Uint8Array {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setInt32(0, n);
  return b;
}

function pushUsage(r: BatchRows, u: OutcomeUsage | undefined): void {
  r.inputTokens.push(u?.input_tokens ?? null);
  r.outputTokens.push(u?.output_tokens ?? null);
  r.costMicroUsd.push(u?.cost_micro_usd ?? null);
}

/**
 * Appends a batch in ONE statement: the next dense sequence number, the log rows, the decisions'
 * query-index rows, the outcomes' updates of those rows (heap-only: no column they change is
 * indexed, migration 2026-12-02T0100-audit-hot-outcomes), the outcomes' tenant entries
 * (`audit_outcome_seqs`) and the tenants' new sequence heads, as data-modifying CTEs over
 * column arrays. One statement is one round trip (and, outside an
 * explicit transaction, one atomic commit): the per-record cost is what it writes, not a
 * transaction's worth of statements. Prepared once per connection (a plan for any batch size),
 * its columns sent as binary arrays; `ord` is the row's position in the arrays (`with
 * ordinality`, from 1).
 *
 * The batch claims, per tenant, the head it continues ($15) and the head it leaves ($16). When
 * any claimed head is not the stored one, `ok` is false and nothing is written (every insert
 * reads `rows`, which is empty then); `heads` returns the stored heads, in claim order, for the
 * batch to be renumbered and re-signed (see tenant-heads.ts).
 */
const APPEND_BATCH = preparedStatement(
  "sovr_audit_append_v7",
  `with claims as (
      select c.tenant, c.prev, c.last, c.ord, coalesce(h.head, 0) as head
      from unnest($14::text[], $15::int8[], $16::int8[]) with ordinality as c(tenant, prev, last, ord)
      left join audit_tenant_heads h on h.tenant = c.tenant
    ), ok as (
      select coalesce(bool_and(head = prev), true) as ok from claims
    ), next as (
      select coalesce(max(seq) + 1, 0)::int8 as n from audit_log where shard = $23::int4
    ), rows as (
      select next.n + v.ord - 1 as seq, v.kind, v.decision_id, v.recorded_at, v.envelope, v.leaf_hash,
             v.tenant, v.model, v.endpoint_id, v.outcome, v.policy_revision, v.policy_sha256,
             v.catalog_revision, next.n + v.outcome_ord as outcome_seq, v.key_id, v.input_tokens,
             v.output_tokens, v.cost_micro_usd, v.action, string_to_array(v.facets, chr(10)) as facets
      from next, ok, unnest(
        $1::text[], $2::text[], $3::timestamptz[], $4::text[], $5::bytea[], $6::text[], $7::text[],
        $8::text[], $9::text[], $10::text[], $11::text[], $12::text[], $13::int8[],
        $17::text[], $18::int8[], $19::int8[], $20::int8[], $21::text[], $22::text[]
      ) with ordinality as v(kind, decision_id, recorded_at, envelope, leaf_hash, tenant, model,
             endpoint_id, outcome, policy_revision, policy_sha256, catalog_revision, outcome_ord,
             key_id, input_tokens, output_tokens, cost_micro_usd, action, facets, ord)
      where ok.ok
    ), log as (
      insert into audit_log (shard, seq, kind, decision_id, recorded_at, envelope, leaf_hash)
      select $23::int4, seq, kind, decision_id, recorded_at, envelope, leaf_hash from rows
    ), decisions as (
      insert into audit_decisions (shard, decision_id, recorded_at, tenant, model, endpoint_id, outcome,
                                   policy_revision, policy_sha256, catalog_revision, decision_seq, outcome_seq,
                                   key_id, input_tokens, output_tokens, cost_micro_usd, facets)
      select $23::int4, decision_id, recorded_at, tenant, model, endpoint_id, outcome,
             policy_revision, policy_sha256, catalog_revision, seq, outcome_seq,
             key_id, input_tokens, output_tokens, cost_micro_usd, facets
      from rows where kind = 'decision'
      returning tenant, outcome_seq
    ), outcomes as (
      update audit_decisions d
      set outcome = o.outcome, endpoint_id = o.endpoint_id, outcome_seq = o.seq,
          input_tokens = o.input_tokens, output_tokens = o.output_tokens, cost_micro_usd = o.cost_micro_usd
      from rows o
      where o.kind = 'outcome' and d.decision_id = o.decision_id
        and not exists (select 1 from rows x where x.kind = 'decision' and x.decision_id = o.decision_id)
      returning d.tenant, o.seq
    ), outcome_seqs as (
      insert into audit_outcome_seqs (tenant, shard, seq)
      select tenant, $23::int4, seq from outcomes
      union all
      select tenant, $23::int4, outcome_seq from decisions where outcome_seq is not null
    ), admin as (
      insert into audit_admin_events (shard, event_id, seq, recorded_at, tenant, action)
      select $23::int4, decision_id, seq, recorded_at, tenant, action from rows where kind = 'admin'
    ), heads as (
      insert into audit_tenant_heads (tenant, head)
      select c.tenant, c.last from claims c, ok where ok.ok
      on conflict (tenant) do update set head = excluded.head
    )
    select next.n, ok.ok,
           (select coalesce(json_agg(c.head order by c.ord), '[]')::text from claims c) as heads
    from next, ok`,
);

/**
 * The same statement as a function that takes the shard's sequencer lock first (migration
 * 2026-12-02T0100-audit-hot-outcomes, a frozen copy of v7: change both together), for Postgres
 * outside a transaction: lock, append and commit in one round trip. $24 is the lock key.
 */
const APPEND_BATCH_LOCKED = preparedStatement(
  "sovr_audit_append_locked_v7",
  `select first_seq as n, written as ok, stored_heads as heads from sovr_audit_append_locked_v7(
     $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22,
     $23, $24::int8)`,
);

interface BatchResult {
  /** The first sequence number of the batch (when written). */
  n: number;
  /** False: the claimed tenant heads were not the stored ones, and nothing was written. */
  ok: boolean;
  /** The stored heads of the batch's tenants. */
  heads: Map<string, number>;
}

/**
 * Runs the batch's statement. With `lockKey` (Postgres, outside a transaction) the statement
 * takes that sequencer lock itself and is its own transaction: one round trip, and the lock is
 * held until it commits. Without, the caller holds the lock (or needs none: PGlite).
 */
export async function appendBatch(
  db: Kysely<Database> | Transaction<Database>,
  params: readonly Uint8Array[],
  tenants: readonly string[],
  lockKey?: number,
): Promise<BatchResult> {
  const statement =
    lockKey === undefined
      ? APPEND_BATCH.compile(params)
      : APPEND_BATCH_LOCKED.compile([...params, String(lockKey)]);
  const result = await db.executeQuery<{ n: number | string; ok: boolean; heads: string }>(statement);
  const row = result.rows[0]!;
  const stored = JSON.parse(row.heads) as number[];
  return { n: Number(row.n), ok: row.ok, heads: new Map(tenants.map((t, i) => [t, Number(stored[i])])) };
}
