import { type Kysely, sql } from "kysely";

/**
 * An outcome no longer writes index entries (issue 19):
 *
 * - The outcome's update of its decision's index row changed two indexed columns (`outcome`,
 *   `outcome_seq`), so every routed request wrote its decision's row twice over, with all nine
 *   index entries each time, and left a dead row version only a vacuum with a pass over every
 *   index could reclaim — on the embedded database, a stall of the one session that grows with
 *   the table (~0.55 s at 100,000 decisions). Without indexes on those two columns, and with
 *   room left on each page (`fillfactor` 90), the update is a heap-only (HOT) update: no index
 *   entry, and the old version is reclaimed by pruning the page, with no vacuum.
 * - A tenant's outcome entries are found through `audit_outcome_seqs` (tenant, shard, seq),
 *   written by the same statement, insert-only; the `(tenant, outcome_seq)` index goes.
 * - `(outcome, recorded_at, decision_id)` goes: an outcome filter reads the time index
 *   (measured in bench/findings.md; outcomes are few, so a page finds its rows early).
 * - `sovr_audit_append_locked_v7`: the log's append statement v7 (src/audit/append-batch.ts)
 *   behind the shard's sequencer lock, as `sovr_audit_append_locked` was for v6 (dropped: a
 *   replica still running v6 then fails its appends, and so refuses to route, instead of
 *   writing outcomes no tenant check can find). Parameters $1–$23 are the statement's, $24 the
 *   lock key. A frozen copy of the statement: a new statement version needs a new function.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable("audit_outcome_seqs")
    .addColumn("tenant", "text", (c) => c.notNull())
    .addColumn("shard", "integer", (c) => c.notNull())
    .addColumn("seq", "bigint", (c) => c.notNull())
    .addPrimaryKeyConstraint("audit_outcome_seqs_pk", ["tenant", "shard", "seq"])
    .execute();
  await sql`insert into audit_outcome_seqs (tenant, shard, seq)
    select tenant, shard, outcome_seq from audit_decisions where outcome_seq is not null`.execute(db);
  await db.schema.dropIndex("audit_decisions_tenant_outcome_seq_idx").execute();
  await db.schema.dropIndex("audit_decisions_outcome_idx").execute();
  await sql`alter table audit_decisions set (fillfactor = 90)`.execute(db);
  await sql`drop function if exists sovr_audit_append_locked`.execute(db);
  await sql
    .raw(`
    create function sovr_audit_append_locked_v7(
      text[], text[], timestamptz[], text[], bytea[], text[], text[], text[], text[], text[], text[],
      text[], int8[], text[], int8[], int8[], text[], int8[], int8[], int8[], text[], text[], int4, int8
    ) returns table (first_seq int8, written boolean, stored_heads text)
    language plpgsql volatile as $fn$
    begin
      perform pg_advisory_xact_lock($24);
      return query
    with claims as (
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
      from next, ok;
    end
    $fn$`)
    .execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`drop function if exists sovr_audit_append_locked_v7`.execute(db);
  await sql`alter table audit_decisions reset (fillfactor)`.execute(db);
  await db.schema
    .createIndex("audit_decisions_outcome_idx")
    .on("audit_decisions")
    .columns(["outcome", "recorded_at", "decision_id"])
    .execute();
  await db.schema
    .createIndex("audit_decisions_tenant_outcome_seq_idx")
    .on("audit_decisions")
    .columns(["tenant", "outcome_seq"])
    .execute();
  await db.schema.dropTable("audit_outcome_seqs").execute();
}
