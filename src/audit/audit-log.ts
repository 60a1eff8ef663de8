import { type Kysely, sql, type Transaction } from "kysely";
import type { DatabaseKind } from "../db/database.js";
import type { AuditDecisionsTable, Database } from "../db/schema.js";
import { canonicalize } from "./canonical-json.js";
import { type DsseEnvelope, entryLeafHash, signEnvelope } from "./dsse.js";
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
    const envelopeJson = canonicalize(envelope);
    const leaf = entryLeafHash(envelope);
    return new Promise<Appended>((resolve, reject) => {
      this.#queue.push({ req, envelope, envelopeJson, leaf, resolve, reject });
      this.#schedule();
    });
  }

  #schedule(): void {
    if (this.#flushing || this.#timer) return;
    const delay = this.#queue.length >= this.opts.batchMax ? 0 : this.opts.batchDelayMs;
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
      firstSeq = await this.db.transaction().execute(async (trx) => this.#write(trx, batch));
    } catch (err) {
      for (const p of batch) p.reject(err);
      return;
    }
    this.opts.onBatch?.(batch.length, (performance.now() - started) / 1000);
    const committed = batch.map((p, i) => ({ seq: firstSeq + i, leafHash: p.leaf }));
    batch.forEach((p, i) => p.resolve({ seq: firstSeq + i, leafHash: p.leaf, envelope: p.envelope }));
    for (const l of this.#listeners) l(committed);
  }

  async #write(trx: Transaction<Database>, batch: Pending[]): Promise<number> {
    if (this.dbKind === "postgres")
      await sql`select pg_advisory_xact_lock(${SEQUENCER_LOCK_KEY})`.execute(trx);
    const { next } = await trx
      .selectFrom("audit_log")
      .select(sql<number>`coalesce(max(seq) + 1, 0)::int8`.as("next"))
      .executeTakeFirstOrThrow();
    const first = Number(next);
    await trx
      .insertInto("audit_log")
      .values(
        batch.map((p, i) => ({
          seq: first + i,
          kind: p.req.kind,
          decision_id: p.req.decisionId,
          recorded_at: p.req.recordedAt,
          envelope: p.envelopeJson,
          leaf_hash: p.leaf,
        })),
      )
      .execute();
    const decisions = batch.flatMap((p, i) =>
      p.req.kind === "decision"
        ? [
            {
              decision_id: p.req.decisionId,
              recorded_at: p.req.recordedAt,
              decision_seq: first + i,
              outcome_seq: null,
              ...p.req.index,
            },
          ]
        : [],
    );
    if (decisions.length > 0) await trx.insertInto("audit_decisions").values(decisions).execute();
    for (const [i, p] of batch.entries()) {
      if (p.req.kind !== "outcome") continue;
      await trx
        .updateTable("audit_decisions")
        .set({ outcome: p.req.outcome, endpoint_id: p.req.endpointId, outcome_seq: first + i })
        .where("decision_id", "=", p.req.decisionId)
        .execute();
    }
    return first;
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
