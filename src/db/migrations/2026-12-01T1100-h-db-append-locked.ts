import { type Kysely, sql } from "kysely";

/**
 * Cheaper group commits (issue 19):
 *
 * - `audit_log` keeps rows up to a page inline (`toast_tuple_target` 8160): a routed decision's
 *   envelope is ~2 kB, just over the default 2 kB target, so each one was tried for compression
 *   (base64 barely compresses) and then moved to the TOAST table — a second heap row and index
 *   entry per record. Rows already written stay where they are.
 * - `sovr_audit_append_locked`: the log's append statement (src/audit/append-batch.ts, v6) as a
 *   function that first takes the shard's sequencer lock (`pg_advisory_xact_lock`). In READ
 *   COMMITTED each statement of a PL/pgSQL function takes its own snapshot, so the append sees
 *   every commit made before the lock was granted, as it did after `begin; select
 *   pg_advisory_xact_lock(k)`; called as one statement outside a transaction, the lock is held
 *   until that statement's commit. On Postgres a batch is then one round trip instead of three
 *   (begin + lock, append, commit). Parameters $1–$23 are the statement's, $24 the lock key.
 *   This body is a frozen copy of the statement: a new statement version needs a new function.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`alter table audit_log set (toast_tuple_target = 8160)`.execute(db);
  await sql
    .raw(`
    create function sovr_audit_append_locked(
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
      ), outcomes as (
        update audit_decisions d
        set outcome = o.outcome, endpoint_id = o.endpoint_id, outcome_seq = o.seq,
            input_tokens = o.input_tokens, output_tokens = o.output_tokens, cost_micro_usd = o.cost_micro_usd
        from rows o
        where o.kind = 'outcome' and d.decision_id = o.decision_id
          and not exists (select 1 from rows x where x.kind = 'decision' and x.decision_id = o.decision_id)
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
  await sql`drop function if exists sovr_audit_append_locked`.execute(db);
  await sql`alter table audit_log reset (toast_tuple_target)`.execute(db);
}
