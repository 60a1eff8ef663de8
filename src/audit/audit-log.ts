import { type Kysely, sql, type Transaction } from "kysely";
import type { DatabaseKind } from "../db/database.js";
import type { AuditDecisionsTable, Database } from "../db/schema.js";
import { canonicalize } from "./canonical-json.js";
import { type DsseEnvelope, entryLeafHashOfCanonical, signEnvelope } from "./dsse.js";
import type { SigningKey } from "./keys.js";

/** Postgres advisory lock key of the log sequencer ("sovr" in ASCII). */
export const SEQUENCER_LOCK_KEY = 0x736f7672;

/** Query-index fields a decision record contributes. */
export type DecisionIndex = Omit<
  AuditDecisionsTable,
  "decision_id" | "recorded_at" | "decision_seq" | "outcome_seq"
>;

export type AppendRequest =
  | { kind: "decision"; decisionId: string; recordedAt: Date; payload: Uint8Array; index: DecisionIndex }
  | {
      kind: "outcome";
      decisionId: string;
      recordedAt: Date;
      payload: Uint8Array;
      outcome: AuditDecisionsTable["outcome"];
      endpointId: string | null;
    };

export interface Appended {
  seq: number;
  leafHash: Uint8Array;
  envelope: DsseEnvelope;
}

interface Pending {
  req: AppendRequest;
  envelopeJson: string;
  envelope: DsseEnvelope;
  leaf: Uint8Array;
  resolve: (a: Appended) => void;
  reject: (e: unknown) => void;
}

export interface AuditLogOptions {
  /** How long the first record of a batch waits for company (bounded group-commit delay). */
  batchDelayMs: number;
  batchMax: number;
  /** Longest an outcome record waits for a decision record to share a statement with (default 50). */
  outcomeDelayMs?: number;
  /** Observes each committed batch (size, commit duration) — metrics. */
  onBatch?: (size: number, seconds: number) => void;
}

/**
 * The append-only, signed decision log (DESIGN §8). `append` signs the record (DSSE, Ed25519),
 * and resolves only once the row is committed: the caller may then let the prompt leave.
 *
 * Group commit: records arriving while a transaction is in flight (or within `batchDelayMs`
 * of the first) share the next transaction, so a durable record per request stays cheap.
 * Sequence numbers are dense: assigned inside the transaction under a Postgres advisory
 * transaction lock, so replicas sharing one database never interleave or leave gaps; PGlite
 * is one process and its driver already runs one transaction at a time.
 */
export class AuditLog {
  #queue: Pending[] = [];
  #timer: NodeJS.Timeout | undefined;
  /** When the pending timer fires (performance.now() ms). */
  #due = 0;
  #flushing: Promise<void> | undefined;
  readonly #listeners: ((entries: readonly { seq: number; leafHash: Uint8Array }[]) => void)[] = [];

  constructor(
    private readonly db: Kysely<Database>,
    private readonly dbKind: DatabaseKind,
    private signer: SigningKey,
    private readonly opts: AuditLogOptions,
  ) {}

  /** Switches to a new signing key (rotation); records already signed keep their key id. */
  setSigner(key: SigningKey): void {
    this.signer = key;
  }

  get keyId(): string {
    return this.signer.keyId;
  }

  /** Called after every committed batch, in sequence order (Merkle tree, checkpoints). */
  onCommitted(listener: (entries: readonly { seq: number; leafHash: Uint8Array }[]) => void): void {
    this.#listeners.push(listener);
  }

  append(req: AppendRequest): Promise<Appended> {
    const envelope = signEnvelope(req.payload, this.signer);
    // Canonicalised once: the stored row and the Merkle leaf are the same bytes.
    const envelopeJson = canonicalize(envelope);
    const leaf = entryLeafHashOfCanonical(envelopeJson);
    return new Promise<Appended>((resolve, reject) => {
      this.#queue.push({ req, envelope, envelopeJson, leaf, resolve, reject });
      this.#schedule();
    });
  }

  #schedule(): void {
    if (this.#flushing) return;
    // A decision record holds its caller (the prompt waits for it): flush after the short
    // group-commit delay. Outcome records hold nobody: they wait up to `outcomeDelayMs` and
    // normally ride along in the next decision's statement, so a request costs one write.
    const urgent = this.#queue.some((p) => p.req.kind === "decision");
    const delay =
      this.#queue.length >= this.opts.batchMax
        ? 0
        : urgent
          ? this.opts.batchDelayMs
          : (this.opts.outcomeDelayMs ?? 50);
    const due = performance.now() + delay;
    if (this.#timer) {
      if (due >= this.#due) return;
      clearTimeout(this.#timer);
    }
    this.#due = due;
    this.#timer = setTimeout(() => this.#startFlush(), delay);
  }

  #startFlush(): void {
    this.#timer = undefined;
    if (this.#queue.length === 0) return;
    const batch = this.#queue.splice(0, this.opts.batchMax);
    this.#flushing = this.#commit(batch).finally(() => {
      this.#flushing = undefined;
      if (this.#queue.length > 0) this.#schedule();
    });
  }

  async #commit(batch: Pending[]): Promise<void> {
    const started = performance.now();
    let firstSeq: number;
    try {
      const rows = batchRows(batch);
      if (this.dbKind === "postgres") {
        // The advisory lock must be held before the statement's snapshot is taken (READ
        // COMMITTED), or max(seq) could miss another replica's commit: two statements.
        firstSeq = await this.db.transaction().execute(async (trx) => {
          await sql`select pg_advisory_xact_lock(${SEQUENCER_LOCK_KEY})`.execute(trx);
          return appendBatch(trx, rows);
        });
      } else {
        // PGlite: one process, one connection, statements run one at a time; one statement is
        // its own transaction, so the batch is atomic without BEGIN/COMMIT round trips.
        firstSeq = await appendBatch(this.db, rows);
      }
    } catch (err) {
      for (const p of batch) p.reject(err);
      return;
    }
    this.opts.onBatch?.(batch.length, (performance.now() - started) / 1000);
    const committed = batch.map((p, i) => ({ seq: firstSeq + i, leafHash: p.leaf }));
    batch.forEach((p, i) => p.resolve({ seq: firstSeq + i, leafHash: p.leaf, envelope: p.envelope }));
    for (const l of this.#listeners) l(committed);
  }

  /** Waits until everything appended so far is committed (or failed). */
  async drain(): Promise<void> {
    while (this.#queue.length > 0 || this.#flushing || this.#timer) {
      if (this.#timer && !this.#flushing) {
        clearTimeout(this.#timer);
        this.#startFlush();
      }
      await (this.#flushing ?? new Promise((r) => setImmediate(r)));
    }
  }
}

/** A batch as column arrays, the shape {@link appendBatch} sends (one array per column). */
interface BatchRows {
  ord: number[];
  kind: string[];
  decisionId: string[];
  recordedAt: string[];
  envelope: string[];
  leafHash: string[];
  tenant: (string | null)[];
  model: (string | null)[];
  endpointId: (string | null)[];
  outcome: (string | null)[];
  policyRevision: (string | null)[];
  policySha256: (string | null)[];
  catalogRevision: (string | null)[];
  /** For a decision whose outcome is in the same batch: that outcome's position. */
  outcomeOrd: (number | null)[];
}

function batchRows(batch: readonly Pending[]): BatchRows {
  const r: BatchRows = {
    ord: [],
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
    outcomeOrd: [],
  };
  // An outcome whose decision is in the same batch cannot update the decision's index row
  // (one statement, one snapshot): it is folded into the row as it is inserted.
  const decisionAt = new Map<string, number>();
  batch.forEach((p, i) => {
    const q = p.req;
    r.ord.push(i);
    r.kind.push(q.kind);
    r.decisionId.push(q.decisionId);
    r.recordedAt.push(q.recordedAt.toISOString());
    r.envelope.push(p.envelopeJson);
    r.leafHash.push(Buffer.from(p.leaf).toString("hex"));
    r.outcomeOrd.push(null);
    if (q.kind === "decision") {
      decisionAt.set(q.decisionId, i);
      r.tenant.push(q.index.tenant);
      r.model.push(q.index.model);
      r.endpointId.push(q.index.endpoint_id);
      r.outcome.push(q.index.outcome);
      r.policyRevision.push(q.index.policy_revision);
      r.policySha256.push(q.index.policy_sha256);
      r.catalogRevision.push(q.index.catalog_revision);
    } else {
      r.tenant.push(null);
      r.model.push(null);
      r.endpointId.push(q.endpointId);
      r.outcome.push(q.outcome);
      r.policyRevision.push(null);
      r.policySha256.push(null);
      r.catalogRevision.push(null);
      const d = decisionAt.get(q.decisionId);
      if (d !== undefined) {
        r.outcome[d] = q.outcome;
        r.endpointId[d] = q.endpointId;
        r.outcomeOrd[d] = i;
      }
    }
  });
  return r;
}

/**
 * Appends a batch in ONE statement: the next dense sequence number, the log rows, the decisions'
 * query-index rows and the outcomes' index updates, as data-modifying CTEs over column arrays.
 * One statement is one round trip (and, outside an explicit transaction, one atomic commit):
 * the per-record cost is what it writes, not a transaction's worth of statements.
 */
async function appendBatch(db: Kysely<Database> | Transaction<Database>, r: BatchRows): Promise<number> {
  const result = await sql<{ n: number }>`
    with next as (
      select coalesce(max(seq) + 1, 0)::int8 as n from audit_log
    ), rows as (
      select next.n + v.ord as seq, v.ord, v.kind, v.decision_id, v.recorded_at::timestamptz as recorded_at,
             v.envelope, decode(v.leaf_hash, 'hex') as leaf_hash, v.tenant, v.model, v.endpoint_id, v.outcome,
             v.policy_revision, v.policy_sha256, v.catalog_revision, next.n + v.outcome_ord as outcome_seq
      from next, unnest(
        ${r.ord}::int8[], ${r.kind}::text[], ${r.decisionId}::text[], ${r.recordedAt}::text[],
        ${r.envelope}::text[], ${r.leafHash}::text[], ${r.tenant}::text[], ${r.model}::text[],
        ${r.endpointId}::text[], ${r.outcome}::text[], ${r.policyRevision}::text[],
        ${r.policySha256}::text[], ${r.catalogRevision}::text[], ${r.outcomeOrd}::int8[]
      ) as v(ord, kind, decision_id, recorded_at, envelope, leaf_hash, tenant, model, endpoint_id, outcome,
             policy_revision, policy_sha256, catalog_revision, outcome_ord)
    ), log as (
      insert into audit_log (seq, kind, decision_id, recorded_at, envelope, leaf_hash)
      select seq, kind, decision_id, recorded_at, envelope, leaf_hash from rows
    ), decisions as (
      insert into audit_decisions (decision_id, recorded_at, tenant, model, endpoint_id, outcome,
                                   policy_revision, policy_sha256, catalog_revision, decision_seq, outcome_seq)
      select decision_id, recorded_at, tenant, model, endpoint_id, outcome,
             policy_revision, policy_sha256, catalog_revision, seq, outcome_seq
      from rows where kind = 'decision'
    ), outcomes as (
      update audit_decisions d
      set outcome = o.outcome, endpoint_id = o.endpoint_id, outcome_seq = o.seq
      from rows o
      where o.kind = 'outcome' and d.decision_id = o.decision_id
        and not exists (select 1 from rows x where x.kind = 'decision' and x.decision_id = o.decision_id)
    )
    select n from next`.execute(db);
  return Number(result.rows[0]!.n);
}
