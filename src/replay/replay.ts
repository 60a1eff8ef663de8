/**
 * `ReplayDecision` / `sovr audit replay` (docs/architecture.md §8): re-evaluates a recorded decision from
 * the policy bundle it names (by sha256, from `policy_bundles`), the catalog revision it names
 * (rebuilt exactly from `catalog_revisions`), and the recorded input and seed, then compares.
 *
 * Each stored bundle gets its own {@link PolicyEngine}, separate from the live one and cached
 * by sha256, so replays never disturb serving. With `useLivePolicy` the bundle the server
 * currently enforces is used instead: the differences then show what the new policy changes.
 */
import type { Kysely } from "kysely";
import {
  AuditNotFoundError,
  candidateRows,
  type DecisionRecord,
  decisionEntries,
  KeyRing,
  publishedKeys,
  RECORD_PAYLOAD_TYPE,
  ReplayUnavailableError,
  verifyEnvelope,
} from "../audit/index.js";
import type { CatalogSnapshot } from "../catalog/index.js";
import type { Database } from "../db/index.js";
import type { BundleRef, PolicyInput } from "../policy/index.js";
import { PolicyEngine, type PolicyEvaluation, readBundle } from "../policy/index.js";
import { asRecordedBudgetDenial, type DecisionRecordV1 } from "../routing/index.js";
import { type ImpactEvent, type ImpactOptions, policyImpact } from "./policy-impact.js";
import { type ReplayPolicy, redecide } from "./replay-input.js";
import { type DecisionChanges, decisionChanges, unchanged } from "./verdicts.js";

export interface ReplayResult {
  /**
   * Replayed from the recorded bundle: the record is reproduced exactly (no differences).
   * With another bundle (the live policy): the decision is the same — the plan, every
   * candidate's verdict and the obligations ({@link DecisionChanges}); the bundle itself and
   * reworded reasons are not a difference.
   */
  match: boolean;
  /**
   * One line per field difference: `path: recorded X, replayed Y`. With another bundle, its
   * revision and hash are left out (see `bundleChanged`).
   */
  differences: string[];
  /** What the decision changed: each candidate whose verdict differs, the plan, the obligations. */
  changes: DecisionChanges;
  /** The replay used a bundle other than the recorded one (the live policy). */
  bundleChanged: boolean;
  recorded: DecisionRecord;
  replayed: DecisionRecordV1;
  /** Each candidate's model, from the catalog revision (v2 records refer to it for them). */
  models: ReadonlyMap<string, string>;
}

export interface ReplayerDeps {
  db: Kysely<Database>;
  /** Rebuilds a stored catalog revision exactly ({@link LiveCatalog.revision}). */
  catalog: { revision(revision: string): Promise<CatalogSnapshot | undefined> };
  /** The live policy, for `useLivePolicy`. */
  livePolicy: {
    evaluate(input: PolicyInput): Promise<PolicyEvaluation>;
    readonly current: BundleRef | undefined;
  };
  /** Stored bundles kept loaded (default 8). */
  cacheSize?: number;
}

/** Another policy impact run is in progress on this server. */
export class ImpactBusyError extends Error {
  override name = "ImpactBusyError";
  constructor() {
    super("another policy impact run is in progress on this server; try again when it ends");
  }
}

/** The bundle's identity in a record: differs by construction when replaying with another bundle. */
const BUNDLE_PATHS = ["policy.revision: ", "policy.sha256: "];

/**
 * Re-decides a verified record with `policy` over its catalog revision and returns the record
 * the router builds for it (a budget denial stays one: budgets are live state, like health).
 * Throws when the policy could not be consulted at all (no record to compare).
 */
export async function replayUnder(
  recorded: DecisionRecord,
  snapshot: CatalogSnapshot,
  policy: ReplayPolicy,
): Promise<DecisionRecordV1> {
  const decision = await redecide(recorded, snapshot, policy);
  if (decision.outcome === "policy_error" && !decision.record) throw decision.error;
  return asRecordedBudgetDenial(decision.record!, "checks" in recorded ? recorded : {});
}

/** Fields that legitimately differ between two evaluations of the same decision. */
const IGNORED = new Set(["policy.eval_us"]);

/**
 * A decision as compared: the format version and the place in the tenant's sequence say where
 * the record stands, not what was decided, and candidates are compared as rows (v1 objects, v2
 * columns). A v1 record replays as the v2 one the router builds now, so the fields v2 added
 * are left out of both sides then, and so is v1's per-candidate model (v2 refers to the
 * catalog revision for it, which replay uses by construction).
 */
export function comparable(
  record: DecisionRecord | DecisionRecordV1,
  asV1: boolean,
  withoutApplied = false,
): Record<string, unknown> {
  const { v: _v, tenant_seq: _s, candidates: _c, ...rest } = record as DecisionRecordV1;
  const out: Record<string, unknown> = { ...rest, candidates: candidateRows(record) };
  delete out.checks;
  // Records from before `applied` (record-applied.ts) replay as records that state it.
  if (withoutApplied) delete out.applied;
  if (asV1) {
    // v2 records rolling performance for eligible candidates only.
    out.candidates = candidateRows(record).map((c) =>
      c.eligible ? c : { ...c, ttft_us: null, tokens_per_second_milli: null },
    );
    for (const k of ["shard", "caller", "labels", "obligations"]) delete out[k];
    const { modalities: _m, ...request } = record.request as unknown as Record<string, unknown>;
    out.request = request;
  }
  return out;
}

export class Replayer {
  readonly #engines = new Map<string, Promise<PolicyEngine>>();
  #impactRunning = false;

  constructor(private readonly deps: ReplayerDeps) {}

  async replay(decisionId: string, opts: { useLivePolicy?: boolean } = {}): Promise<ReplayResult> {
    const recorded = await this.#recorded(decisionId);
    const snapshot = await this.deps.catalog.revision(recorded.catalog_revision);
    if (!snapshot)
      throw new ReplayUnavailableError(`catalog revision ${recorded.catalog_revision} is not stored`);
    let policy: ReplayPolicy;
    if (opts.useLivePolicy) {
      const live = this.deps.livePolicy;
      if (!live.current) throw new ReplayUnavailableError("no live policy bundle is loaded");
      policy = { evaluate: (i) => live.evaluate(i), bundle: live.current };
    } else {
      const engine = await this.#engine(recorded.policy.sha256);
      policy = { evaluate: (i) => engine.evaluate(i), bundle: engine.current! };
    }
    const replayed = await replayUnder(recorded, snapshot, policy);
    const bundleChanged = replayed.policy.sha256 !== recorded.policy.sha256;
    const asV1 = recorded.v === 1;
    const noApplied = !("applied" in recorded);
    let differences = diff(comparable(recorded, asV1, noApplied), comparable(replayed, asV1, noApplied));
    const changes = decisionChanges(recorded, replayed);
    // Another bundle was asked for: that it is another one is the premise, not a finding.
    if (bundleChanged) differences = differences.filter((d) => !BUNDLE_PATHS.some((p) => d.startsWith(p)));
    const match = bundleChanged ? unchanged(changes) : differences.length === 0;
    const models = new Map(snapshot.endpoints.map((e) => [e.id, e.model]));
    return { match, differences, changes, bundleChanged, recorded, replayed, models };
  }

  /**
   * What a draft bundle would change over past decisions ({@link policyImpact}): one run at a
   * time per process (a draft is someone's code evaluated on the serving machine);
   * {@link ImpactBusyError} while another runs.
   */
  async *impact(options: ImpactOptions): AsyncGenerator<ImpactEvent> {
    if (this.#impactRunning) throw new ImpactBusyError();
    this.#impactRunning = true;
    try {
      yield* policyImpact(this.deps, options);
    } finally {
      this.#impactRunning = false;
    }
  }

  /** The decision record, after checking its signature against the published keys. */
  async #recorded(decisionId: string): Promise<DecisionRecord> {
    const { decision } = await decisionEntries(this.deps.db, decisionId);
    if (!decision) throw new AuditNotFoundError(`decision ${decisionId} is not in the log`);
    const ring = new KeyRing(await publishedKeys(this.deps.db));
    const v = verifyEnvelope(decision.envelope, ring, RECORD_PAYLOAD_TYPE);
    if (!v.ok) throw new ReplayUnavailableError(`the stored decision record does not verify: ${v.reason}`);
    return JSON.parse(new TextDecoder().decode(v.payload)) as DecisionRecord;
  }

  #engine(sha256: string): Promise<PolicyEngine> {
    let p = this.#engines.get(sha256);
    if (!p) {
      p = this.#loadEngine(sha256);
      p.catch(() => this.#engines.delete(sha256));
      this.#engines.set(sha256, p);
      const max = this.deps.cacheSize ?? 8;
      while (this.#engines.size > max) this.#engines.delete(this.#engines.keys().next().value!);
    }
    return p;
  }

  async #loadEngine(sha256: string): Promise<PolicyEngine> {
    const row = await this.deps.db
      .selectFrom("policy_bundles")
      .select("bundle")
      .where("sha256", "=", sha256)
      .executeTakeFirst();
    if (!row) throw new ReplayUnavailableError(`policy bundle ${sha256} is not stored`);
    const bundle = await readBundle(row.bundle);
    if (bundle.ref.sha256 !== sha256)
      throw new ReplayUnavailableError(`stored policy bundle ${sha256} hashes to ${bundle.ref.sha256}`);
    // Replays are not latency-bound: a generous budget so a slow machine does not fail closed.
    const engine = new PolicyEngine({ poolSize: 1, timeBudgetMicros: 5_000_000 });
    await engine.load(bundle);
    return engine;
  }
}

/**
 * Paths where two records differ. Candidates are matched by endpoint id; other arrays by
 * position (the plan's order matters).
 */
export function diff(recorded: unknown, replayed: unknown, path = ""): string[] {
  if (IGNORED.has(path)) return [];
  if (Object.is(recorded, replayed)) return [];
  const show = (v: unknown) => (v === undefined ? "absent" : JSON.stringify(v));
  const isObj = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null;
  if (path === "candidates" && Array.isArray(recorded) && Array.isArray(replayed)) {
    const key = (c: unknown) => String((c as { endpoint_id?: unknown }).endpoint_id);
    const a = new Map(recorded.map((c) => [key(c), c]));
    const b = new Map(replayed.map((c) => [key(c), c]));
    const out: string[] = [];
    for (const id of new Set([...a.keys(), ...b.keys()]))
      out.push(...diff(a.get(id), b.get(id), `candidates[${id}]`));
    const order = (m: Map<string, unknown>) => [...m.keys()].join(",");
    if (out.length === 0 && order(a) !== order(b))
      out.push(`candidates order: recorded ${order(a)}, replayed ${order(b)}`);
    return out;
  }
  if (Array.isArray(recorded) && Array.isArray(replayed)) {
    if (recorded.every((x) => !isObj(x)) && replayed.every((x) => !isObj(x))) {
      return JSON.stringify(recorded) === JSON.stringify(replayed)
        ? []
        : [`${path}: recorded ${show(recorded)}, replayed ${show(replayed)}`];
    }
    const out: string[] = [];
    for (let i = 0; i < Math.max(recorded.length, replayed.length); i++)
      out.push(...diff(recorded[i], replayed[i], `${path}[${i}]`));
    return out;
  }
  if (isObj(recorded) && isObj(replayed) && !Array.isArray(recorded) && !Array.isArray(replayed)) {
    const out: string[] = [];
    for (const k of new Set([...Object.keys(recorded), ...Object.keys(replayed)]))
      out.push(...diff(recorded[k], replayed[k], path ? `${path}.${k}` : k));
    return out;
  }
  return [`${path}: recorded ${show(recorded)}, replayed ${show(replayed)}`];
}
