import type { HandlerContext, ServiceImpl } from "@connectrpc/connect";
import type { Kysely } from "kysely";
import type { Checkpointer } from "../../audit/index.js";
import {
  AuditNotFoundError,
  CommitSignal,
  candidateRows,
  checkpointAt,
  cosignaturesOf,
  countDecisions,
  type DecisionCursor,
  type DecisionRecord,
  decisionEntries,
  decisionPayloads,
  logSize,
  publishedKeys,
  queryDecisions,
  type StoredCheckpoint,
  type StoredEntry,
} from "../../audit/index.js";
import type { Principal } from "../../auth/index.js";
import type { Database } from "../../db/index.js";
import type {
  AuditService,
  ExportDecisionsRequest,
  GetCheckpointRequest,
  GetConsistencyProofRequest,
  GetDecisionRequest,
  GetInclusionProofRequest,
  PolicyImpactRequest,
  QueryAdminRecordsRequest,
  QueryDecisionsRequest,
  ReplayDecisionRequest,
  WatchDecisionsRequest,
} from "../../gen/sovereign/v1/audit_pb.js";
import { ExclusionStage } from "../../gen/sovereign/v1/router_pb.js";
import type { Replayer, Verdict } from "../../replay/index.js";
import type { DecisionRecordV1 } from "../../routing/index.js";
import { queryAdminRecordsFor } from "./audit-admin-query.js";
import { exportMessages, exportScope } from "./audit-export.js";
import { decisionFilter, decisionSummary } from "./audit-filter.js";
import { impactMessages, impactOptions } from "./audit-impact.js";
import { checkpointMessage, keyMessage, toLogEntry } from "./audit-messages.js";
import { watchMessages } from "./audit-watch.js";
import { principalKey } from "./context.js";
import { InvalidFieldError, toConnectError } from "./errors.js";

export interface AuditServiceDeps {
  db: Kysely<Database>;
  /**
   * Resolves once every record acknowledged so far is in the database (the embedded database's
   * journal inserts behind its acknowledgements: AuditLog.settled). Every RPC waits for it.
   */
  settled?: () => Promise<void>;
  checkpointer: Checkpointer;
  /**
   * One per log shard, by shard (docs/audit.md §10); absent: one shard, `checkpointer`. A
   * decision is proved within its shard, to that shard's checkpoint (whose origin names it).
   */
  checkpointers?: readonly Checkpointer[];
  replayer: Replayer;
  /** The log shard of a tenant's records (absent: one shard). */
  shardOf?: (tenant: string) => number;
  logger?: { error(obj: object, msg: string): void };
  /** Wakes WatchDecisions streams when this process commits (else they poll). */
  commits?: CommitSignal;
  /** Aborted when the server stops: WatchDecisions streams end instead of being cut. */
  shutdown?: AbortSignal;
}

const DEFAULT_PAGE = 100;
const MAX_PAGE = 1000;

const STAGES: Record<string, ExclusionStage> = {
  policy: ExclusionStage.POLICY,
  filter: ExclusionStage.FILTER,
  availability: ExclusionStage.AVAILABILITY,
};

type Impl = ServiceImpl<typeof AuditService>;

/**
 * The auth interceptor admits auditors only (src/auth/access.ts); the tenant walls are here.
 * An auditor reads its own tenant's decisions unless its key carries `all_tenants`: a query
 * naming another tenant is refused, and another tenant's decision id is answered exactly as an
 * unknown one. Checkpoints, consistency proofs and signing keys stay open to every auditor: they
 * are log-wide hashes, sizes and public keys that carry no tenant's data, and every auditor needs
 * them to verify its own records against the one signed log.
 */
export class AuditServiceImpl implements Impl {
  readonly #db: Kysely<Database>;
  readonly #cp: Checkpointer;
  readonly #cps: readonly Checkpointer[];
  readonly #shardOf: (tenant: string) => number;
  readonly #replayer: Replayer;
  readonly #logger: AuditServiceDeps["logger"];
  readonly #commits: CommitSignal;
  readonly #shutdown: AbortSignal | undefined;
  readonly #settled: (() => Promise<void>) | undefined;

  constructor(deps: AuditServiceDeps) {
    this.#settled = deps.settled;
    this.#db = deps.db;
    this.#cp = deps.checkpointer;
    this.#cps = deps.checkpointers ?? [deps.checkpointer];
    this.#shardOf = deps.shardOf ?? (() => 0);
    this.#replayer = deps.replayer;
    this.#logger = deps.logger;
    this.#commits = deps.commits ?? new CommitSignal();
    this.#shutdown = deps.shutdown;
  }

  /** Runs `fn` for the caller (from the connect context), mapping its errors to statuses. */
  async #guard<T>(ctx: HandlerContext, fn: (principal: Principal) => Promise<T>): Promise<T> {
    try {
      await this.#settled?.();
      return await fn(ctx.values.get(principalKey));
    } catch (err) {
      throw toConnectError(err);
    }
  }

  /** Refuses a decision id outside the caller's tenants exactly as an unknown id. */
  async #mustSee(principal: Principal, decisionId: string): Promise<void> {
    if (principal.allTenants) return;
    const row = await this.#db
      .selectFrom("audit_decisions")
      .select("tenant")
      .where("decision_id", "=", decisionId)
      .executeTakeFirst();
    if (row?.tenant !== principal.tenant)
      throw new AuditNotFoundError(`decision ${decisionId} is not in the log`);
  }

  queryDecisions(req: QueryDecisionsRequest, ctx: HandlerContext) {
    return this.#guard(ctx, async (principal) => {
      const filter = decisionFilter(req, principal);
      if (req.pageSize < 0) throw new InvalidFieldError("page_size", "must not be negative");
      const { rows, next } = await queryDecisions(
        this.#db,
        filter,
        Math.min(req.pageSize || DEFAULT_PAGE, MAX_PAGE),
        req.pageToken ? decodePageToken(req.pageToken) : undefined,
      );
      // Records of this page only: rows the tenant wall already let through.
      const payloads = req.includeRecords
        ? await decisionPayloads(
            this.#db,
            rows.map((r) => r.decision_id),
          )
        : undefined;
      return {
        decisions: rows.map((r) => {
          const p = payloads?.get(r.decision_id);
          return {
            ...decisionSummary(r),
            ...(p?.decision ? { decisionRecord: p.decision } : {}),
            ...(p?.outcome ? { outcomeRecord: p.outcome } : {}),
          };
        }),
        nextPageToken: next ? encodePageToken(next) : "",
        ...(req.includeCount ? { total: BigInt(await countDecisions(this.#db, filter)) } : {}),
      };
    });
  }

  getDecision(req: GetDecisionRequest, ctx: HandlerContext) {
    return this.#guard(ctx, async (principal) => {
      if (!req.decisionId) throw new InvalidFieldError("decision_id", "is required");
      await this.#mustSee(principal, req.decisionId);
      const { decision, outcome } = await decisionEntries(this.#db, req.decisionId);
      if (!decision) throw new AuditNotFoundError(`decision ${req.decisionId} is not in the log`);
      // Proofs go to a signed checkpoint covering both entries: when the latest one does not
      // yet, one is signed now (one signature) rather than proving to an unsigned tree size.
      const needed = Math.max(decision.seq, outcome?.seq ?? 0) + 1;
      const shardCp = this.#cpOf(decision);
      let cp = await shardCp.latest();
      if (!cp || cp.size < needed) cp = await shardCp.checkpoint();
      if (!cp || cp.size < needed) throw new Error(`no checkpoint covers seq ${needed - 1}`);
      return {
        decision: toLogEntry(decision),
        outcome: outcome && toLogEntry(outcome),
        checkpoint: await this.#checkpointMessage(cp),
        decisionProof: await this.#inclusionProof(decision, cp),
        outcomeProof: outcome && (await this.#inclusionProof(outcome, cp)),
      };
    });
  }

  /**
   * The decision record's proof to the latest checkpoint, as GetDecision proves it, except that
   * nothing is signed for it: until a checkpoint covers the record the answer is NotFound,
   * saying so (the checkpointer signs every few records or seconds; ask again then).
   */
  getInclusionProof(req: GetInclusionProofRequest, ctx: HandlerContext) {
    return this.#guard(ctx, async (principal) => {
      if (!req.decisionId) throw new InvalidFieldError("decision_id", "is required");
      await this.#mustSee(principal, req.decisionId);
      const { decision } = await decisionEntries(this.#db, req.decisionId);
      if (!decision) throw new AuditNotFoundError(`decision ${req.decisionId} is not in the log`);
      const cp = await this.#cpOf(decision).latest();
      if (!cp || cp.size <= decision.seq)
        throw new AuditNotFoundError(
          `decision ${req.decisionId} (seq ${decision.seq}) is not covered by a signed checkpoint yet (latest covers ${cp?.size ?? 0} records); ask again after the next checkpoint`,
        );
      return {
        decisionId: req.decisionId,
        seq: BigInt(decision.seq),
        leafHash: decision.leafHash,
        proof: await this.#inclusionProof(decision, cp),
        checkpoint: await this.#checkpointMessage(cp),
      };
    });
  }

  /** RFC 9162 inclusion proof of `e` to the checkpoint `cp` (which covers it). */
  async #inclusionProof(e: StoredEntry, cp: StoredCheckpoint) {
    return {
      leafIndex: BigInt(e.seq),
      treeSize: BigInt(cp.size),
      hashes: await this.#cpOf(e).inclusionProof(e.seq, cp.size),
    };
  }

  getCheckpoint(req: GetCheckpointRequest, ctx: HandlerContext) {
    return this.#guard(ctx, async () => {
      const shardCp = this.#requestedShard(req.shard);
      let cp: StoredCheckpoint | undefined;
      if (req.size === undefined) {
        cp = (await shardCp.latest()) ?? (await shardCp.checkpoint());
        if (!cp) throw new AuditNotFoundError("the log is empty: no checkpoint yet");
      } else {
        cp = await checkpointAt(this.#db, Number(req.size), shardCp.shard);
        if (!cp) throw new AuditNotFoundError(`no checkpoint of size ${req.size}`);
      }
      return { checkpoint: await this.#checkpointMessage(cp) };
    });
  }

  getConsistencyProof(req: GetConsistencyProofRequest, ctx: HandlerContext) {
    return this.#guard(ctx, async () => {
      const m = Number(req.firstSize);
      const n = Number(req.secondSize);
      if (m < 1) throw new InvalidFieldError("first_size", "must be at least 1");
      if (n < m) throw new InvalidFieldError("second_size", `must be at least first_size (${m})`);
      const shardCp = this.#requestedShard(req.shard);
      const size = await logSize(this.#db, shardCp.shard);
      if (n > size) throw new InvalidFieldError("second_size", `exceeds the log size (${size})`);
      return {
        firstSize: req.firstSize,
        secondSize: req.secondSize,
        hashes: await shardCp.consistencyProof(m, n),
      };
    });
  }

  replayDecision(req: ReplayDecisionRequest, ctx: HandlerContext) {
    return this.#guard(ctx, async (principal) => {
      if (!req.decisionId) throw new InvalidFieldError("decision_id", "is required");
      await this.#mustSee(principal, req.decisionId);
      const r = await this.#replayer.replay(req.decisionId, { useLivePolicy: req.useLivePolicy });
      return {
        match: r.match,
        differences: r.differences,
        recorded: routingDecision(r.recorded, r.models),
        replayed: routingDecision(r.replayed, r.models),
        candidateChanges: r.changes.candidates.map((c) => ({
          endpointId: c.endpointId,
          before: c.before && verdictMessage(c.before),
          after: c.after && verdictMessage(c.after),
        })),
        planChanged: r.changes.planChanged,
        obligationsChanged: r.changes.obligationsChanged,
        bundleChanged: r.bundleChanged,
      };
    });
  }

  async *policyImpact(req: PolicyImpactRequest, ctx: HandlerContext) {
    // Checks and the tenant wall (audit-impact.ts) before the draft is even read.
    const options = await this.#guard(ctx, async (principal) => impactOptions(req, principal, new Date()));
    try {
      yield* impactMessages(this.#replayer, { ...options, signal: ctx.signal });
    } catch (err) {
      throw toConnectError(err);
    }
  }

  async *exportDecisions(req: ExportDecisionsRequest, ctx: HandlerContext) {
    // The caller's scope decides what is exported (see audit-export.ts).
    const tenant = await this.#guard(ctx, async (principal) => exportScope(principal, req.tenant));
    try {
      yield* exportMessages(
        { db: this.#db, checkpointer: this.#cp, checkpointers: this.#cps, logger: this.#logger },
        req,
        tenant,
      );
    } catch (err) {
      throw toConnectError(err);
    }
  }

  async *watchDecisions(req: WatchDecisionsRequest, ctx: HandlerContext) {
    // The same filter and tenant wall as QueryDecisions (audit-filter.ts).
    const filter = await this.#guard(ctx, async (principal) => decisionFilter(req, principal));
    const signal = this.#shutdown ? AbortSignal.any([ctx.signal, this.#shutdown]) : ctx.signal;
    try {
      yield* watchMessages(this.#db, this.#commits, req, filter, signal, this.#watchShard(req, filter));
    } catch (err) {
      throw toConnectError(err);
    }
  }

  listSigningKeys(_req: unknown, ctx: HandlerContext) {
    return this.#guard(ctx, async () => ({
      keys: (await publishedKeys(this.#db)).map(keyMessage),
      checkpointOrigin: this.#cp.origin,
      shardOrigins: this.#cps.map((c) => c.origin),
    }));
  }

  /** The admin trail, newest first; the tenant walls are in audit-admin-query.ts. */
  queryAdminRecords(req: QueryAdminRecordsRequest, ctx: HandlerContext) {
    return this.#guard(ctx, (principal) => queryAdminRecordsFor(this.#db, principal, req));
  }

  async #checkpointMessage(cp: StoredCheckpoint) {
    const shard = cp.shard ?? 0;
    const cosigned = await cosignaturesOf(this.#db, [cp.size], shard);
    return checkpointMessage(this.#cps[shard]!.origin, cp, cosigned.get(cp.size));
  }

  /** The shard a WatchDecisions stream follows (see the proto's `shard`). */
  #watchShard(req: WatchDecisionsRequest, filter: { tenant?: string }): number {
    const n = this.#cps.length;
    if (req.shard !== undefined) {
      if (req.shard >= n) throw new InvalidFieldError("shard", `is beyond the log's last shard (${n - 1})`);
      return req.shard;
    }
    if (n === 1) return 0;
    if (filter.tenant) return this.#shardOf(filter.tenant);
    throw new InvalidFieldError(
      "shard",
      `is required: the log has ${n} shards, each its own sequence; watch every tenant with one stream per shard (0..${n - 1})`,
    );
  }

  /** The checkpointer of a request's `shard` field. */
  #requestedShard(shard: number): Checkpointer {
    const c = this.#cps[shard];
    if (!c) throw new InvalidFieldError("shard", `is beyond the log's last shard (${this.#cps.length - 1})`);
    return c;
  }

  /** The checkpointer of the shard `e` is in. */
  #cpOf(e: { shard: number }): Checkpointer {
    const c = this.#cps[e.shard];
    if (!c) throw new Error(`log shard ${e.shard} is not served here`);
    return c;
  }
}

function verdictMessage(v: Verdict) {
  return {
    eligible: v.eligible,
    exclusions: v.exclusions.map((e) => ({ stage: STAGES[e.stage] ?? 0, rule: e.rule, reason: e.reason })),
  };
}

function routingDecision(r: DecisionRecord | DecisionRecordV1, catalogModels: ReadonlyMap<string, string>) {
  // v2 records refer to the catalog revision for a candidate's model; v1 records copied it.
  const models = new Map(r.v === 1 ? r.candidates.map((c) => [c.endpoint_id, c.model]) : catalogModels);
  return {
    decisionId: r.decision_id,
    policy: { revision: r.policy.revision, sha256: r.policy.sha256 },
    catalogRevision: r.catalog_revision,
    candidates: candidateRows(r).map((c) => ({
      endpointId: c.endpoint_id,
      model: models.get(c.endpoint_id) ?? "",
      eligible: c.eligible,
      exclusions: c.exclusions.map((e) => ({ stage: STAGES[e.stage] ?? 0, rule: e.rule, reason: e.reason })),
      // Relative weight (1 = the heaviest eligible endpoint), as recorded in parts per billion.
      weight: c.weight_ppb / 1e9,
      unhealthy: c.unhealthy,
    })),
    plan: r.plan,
    obligations: "obligations" in r ? r.obligations : [],
    seed: r.seed,
    policyEvalUs: BigInt(r.policy.eval_us),
  };
}

/** Opaque page token: base64url of `{t, id}` — the (time, decision id) of the page's last row. */
function encodePageToken(c: DecisionCursor): string {
  return Buffer.from(JSON.stringify({ t: c.recordedAt.getTime(), id: c.decisionId })).toString("base64url");
}

function decodePageToken(token: string): DecisionCursor {
  const bad = () => new InvalidFieldError("page_token", "is not a token this server issued");
  let v: { t?: unknown; id?: unknown };
  try {
    v = JSON.parse(Buffer.from(token, "base64url").toString("utf8"));
  } catch {
    throw bad();
  }
  if (!v || !Number.isSafeInteger(v.t) || typeof v.id !== "string" || v.id === "") throw bad();
  return { recordedAt: new Date(v.t as number), decisionId: v.id };
}
