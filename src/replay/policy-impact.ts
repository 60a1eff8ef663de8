/**
 * Policy impact (`sovr policy impact`, AuditService.PolicyImpact): what a draft bundle would
 * change, before anyone activates it. Past decisions are replayed exactly as `sovr audit
 * replay --live-policy` replays one — the recorded input, seed and catalog revision, the
 * router's own `decide` — but under the draft, and tallied ({@link ImpactTally}).
 *
 * The draft runs in a sandbox: its own {@link PolicyEngine}, never activated, never stored,
 * size-limited on the way in (compressed and uncompressed), with a Wasm memory ceiling and a
 * time budget per evaluation (an evaluation over either fails closed and is counted as an
 * error). Only verified records are replayed.
 */
import { type Kysely, sql } from "kysely";
import {
  type DecisionRecord,
  KeyRing,
  publishedKeys,
  RECORD_PAYLOAD_TYPE,
  ReplayUnavailableError,
  verifyEnvelope,
} from "../audit/index.js";
import type { CatalogSnapshot } from "../catalog/index.js";
import type { Database } from "../db/index.js";
import { type BundleRef, PolicyEngine, PolicyError, readBundle } from "../policy/index.js";
import { type ImpactSummary, ImpactTally } from "./impact-summary.js";
import { replayUnder } from "./replay.js";
import { decisionChanges } from "./verdicts.js";

/** The sandbox's bounds. */
export const IMPACT_LIMITS = {
  /** The uploaded bundle (gzip). */
  bundleBytes: 4 << 20,
  /** Its files, uncompressed. */
  unpackedBytes: 32 << 20,
  /** Wasm memory per instance: 64 MiB (1,024 pages of 64 KiB). */
  memoryPages: 1024,
  /** Per evaluation; generous, since the machine may be busy serving. */
  timeBudgetMicros: 1_000_000,
  /** Decisions per run. */
  maxLimit: 1_000_000,
  defaultLimit: 10_000,
} as const;

export interface ImpactOptions {
  /** The draft bundle's bytes (a .tar.gz). */
  bundle: Uint8Array;
  from: Date;
  to: Date;
  /** One tenant's decisions; undefined: every tenant's (the caller's scope is the API's to decide). */
  tenant?: string;
  /** Most decisions to replay. */
  limit: number;
  /** Fraction in (0, 1]: decisions whose id's last 16 random bits fall below it. */
  sample: number;
  /** Progress every this many decisions (default 500). */
  progressEvery?: number;
  signal?: AbortSignal;
}

export type ImpactEvent =
  | { kind: "progress"; replayed: number }
  | { kind: "summary"; draft: BundleRef; summary: ImpactSummary };

export interface ImpactDeps {
  db: Kysely<Database>;
  catalog: { revision(revision: string): Promise<CatalogSnapshot | undefined> };
}

const PAGE = 200;

/** Loads the draft into a sandboxed engine: throws PolicyBundleError when it is not a bundle. */
export async function draftEngine(bytes: Uint8Array): Promise<PolicyEngine> {
  const bundle = await readBundle(bytes, { maxBytes: IMPACT_LIMITS.unpackedBytes });
  const engine = new PolicyEngine({
    poolSize: 1,
    timeBudgetMicros: IMPACT_LIMITS.timeBudgetMicros,
    maxMemoryPages: IMPACT_LIMITS.memoryPages,
  });
  await engine.load(bundle);
  return engine;
}

/** The sample threshold over a UUIDv7's last four hex digits (random bits). */
export function sampleThreshold(sample: number): string | undefined {
  if (sample >= 1) return undefined;
  return Math.ceil(sample * 0x10000)
    .toString(16)
    .padStart(4, "0");
}

/**
 * Replays the decisions in range under the draft, oldest first; yields progress, then the
 * summary. A record that does not verify ends the run (ReplayUnavailableError): the log is
 * not what it claims to be.
 */
export async function* policyImpact(deps: ImpactDeps, o: ImpactOptions): AsyncGenerator<ImpactEvent> {
  const engine = await draftEngine(o.bundle);
  const draft = engine.current!;
  const policy = { evaluate: engine.evaluate.bind(engine), bundle: draft };
  const ring = new KeyRing(await publishedKeys(deps.db));
  const snapshots = new Map<string, Promise<CatalogSnapshot | undefined>>();
  const snapshot = (revision: string) => {
    let p = snapshots.get(revision);
    if (!p) {
      p = deps.catalog.revision(revision);
      snapshots.set(revision, p);
    }
    return p;
  };
  const tally = new ImpactTally();
  const every = o.progressEvery ?? 500;
  const threshold = sampleThreshold(o.sample);
  let seen = 0;
  let after: { at: Date; id: string } | undefined;
  pages: for (;;) {
    o.signal?.throwIfAborted();
    let q = deps.db
      .selectFrom("audit_decisions as d")
      .innerJoin("audit_log as l", (j) =>
        j.onRef("l.shard", "=", "d.shard").onRef("l.seq", "=", "d.decision_seq"),
      )
      .select(["d.decision_id", "d.recorded_at", "d.tenant", "l.envelope"])
      .where("d.recorded_at", ">=", o.from)
      .where("d.recorded_at", "<", o.to);
    if (o.tenant !== undefined) q = q.where("d.tenant", "=", o.tenant);
    if (threshold) q = q.where(sql<string>`substr(d.decision_id, 33, 4)`, "<", threshold);
    if (after) {
      const { at, id } = after;
      q = q.where((eb) =>
        eb.or([
          eb("d.recorded_at", ">", at),
          eb.and([eb("d.recorded_at", "=", at), eb("d.decision_id", ">", id)]),
        ]),
      );
    }
    const rows = await q.orderBy("d.recorded_at").orderBy("d.decision_id").limit(PAGE).execute();
    for (const row of rows) {
      if (seen === o.limit) {
        tally.truncated();
        break pages;
      }
      seen++;
      const recorded = verified(row.envelope, ring, row.decision_id);
      const snap = await snapshot(recorded.catalog_revision);
      if (!snap) tally.unavailable();
      else {
        const replayed = await replayUnder(recorded, snap, policy).catch((err: unknown) => {
          if (err instanceof PolicyError) return undefined;
          throw err;
        });
        // The draft failed to decide: the request would have been refused (fail closed).
        if (!replayed || replayed.policy.error !== undefined) tally.error(row.decision_id, row.tenant);
        else
          tally.add({
            decisionId: row.decision_id,
            tenant: row.tenant,
            allowedBefore: recorded.plan.length > 0,
            allowedAfter: replayed.plan.length > 0,
            changes: decisionChanges(recorded, replayed),
          });
      }
      if (seen % every === 0) yield { kind: "progress", replayed: seen };
    }
    if (rows.length < PAGE) break;
    const last = rows.at(-1)!;
    after = { at: last.recorded_at, id: last.decision_id };
  }
  yield { kind: "summary", draft, summary: tally.summary() };
}

function verified(envelopeJson: string, ring: KeyRing, decisionId: string): DecisionRecord {
  const v = verifyEnvelope(JSON.parse(envelopeJson), ring, RECORD_PAYLOAD_TYPE);
  if (!v.ok)
    throw new ReplayUnavailableError(`the stored decision record ${decisionId} does not verify: ${v.reason}`);
  return JSON.parse(new TextDecoder().decode(v.payload)) as DecisionRecord;
}
