import type {
  AttemptRecord as AuditAttemptRecord,
  CallerRecord,
  DecisionRecordV2,
  Modality,
  OutcomeRecord,
  Unsequenced,
} from "../audit/record.js";
import { candidateColumns } from "../audit/record-candidates.js";
import type { BundleRef } from "../policy/types.js";
import type { UpstreamErrorClass } from "../upstream/errors.js";
import { estimatePromptTokens, usedParameters } from "./filters.js";
import type { CandidateVerdict, Principal, RouteRequest } from "./types.js";

/**
 * Records (docs/audit.md, defined once in src/audit/record.ts), built here from a routing
 * decision: format v2, whose `tenant_seq` the audit log fills in as it signs. Integers only:
 * times in µs since the epoch, money in micro-USD, weights as parts per billion. Never message
 * content, nor any hash of it: only counts. (The V1 names predate v2: they name what the router
 * builds, a v2 record not yet numbered.)
 */
export type DecisionRecordV1 = Unsequenced<DecisionRecordV2>;
export type OutcomeRecordV1 = OutcomeRecord;
export type AttemptRecord = AuditAttemptRecord & { error_class: UpstreamErrorClass | null };

/** The routing preferences as OpenRouter names them; the policy input and the record share this. */
export function preferencesJson(req: RouteRequest): Record<string, unknown> {
  const p = req.provider;
  const out: Record<string, unknown> = { allow_fallbacks: p.allowFallbacks };
  if (p.order?.length) out.order = [...p.order];
  if (p.only?.length) out.only = [...p.only];
  if (p.ignore?.length) out.ignore = [...p.ignore];
  if (p.sort) out.sort = { by: p.sort.by, partition: p.sort.partition };
  if (p.maxPrice) {
    const mp: Record<string, number> = {};
    if (p.maxPrice.prompt !== undefined) mp.prompt = p.maxPrice.prompt;
    if (p.maxPrice.completion !== undefined) mp.completion = p.maxPrice.completion;
    out.max_price = mp;
  }
  if (p.zdr !== undefined) out.zdr = p.zdr;
  if (p.dataCollection) out.data_collection = p.dataCollection;
  if (p.requireParameters !== undefined) out.require_parameters = p.requireParameters;
  if (p.quantizations?.length) out.quantizations = [...p.quantizations];
  if (p.preferredMinThroughput !== undefined) out.preferred_min_throughput = p.preferredMinThroughput;
  if (p.preferredMaxLatency !== undefined) out.preferred_max_latency = p.preferredMaxLatency;
  return out;
}

/**
 * The preferences as recorded: like {@link preferencesJson} but integers only — prices in
 * micro-USD per million tokens, latency in ms, throughput in milli-tokens per second.
 */
export function recordedPreferences(req: RouteRequest): Record<string, unknown> {
  const { max_price, preferred_max_latency, preferred_min_throughput, ...rest } = preferencesJson(req);
  const out: Record<string, unknown> = { ...rest };
  const micro = (x: unknown) => Math.round((x as number) * 1_000_000);
  if (max_price) {
    const mp = max_price as { prompt?: number; completion?: number };
    out.max_price_micro_usd = {
      ...(mp.prompt !== undefined ? { prompt: micro(mp.prompt) } : {}),
      ...(mp.completion !== undefined ? { completion: micro(mp.completion) } : {}),
    };
  }
  if (preferred_max_latency !== undefined)
    out.preferred_max_latency_ms = Math.round((preferred_max_latency as number) * 1000);
  if (preferred_min_throughput !== undefined) {
    out.preferred_min_throughput_milli = Math.round((preferred_min_throughput as number) * 1000);
  }
  return out;
}

/** Who called, as a record names it: an API key, or nobody when authentication is off. */
export function callerOf(principal: Principal): CallerRecord {
  return principal.keyId === ""
    ? { kind: "anonymous", subject: "", key_id: "" }
    : { kind: "api_key", subject: principal.workload, key_id: principal.keyId };
}

/** The request's input modalities, sorted. Messages carry text only today. */
export function modalitiesOf(req: RouteRequest): Modality[] {
  return req.messages.length > 0 ? ["text"] : [];
}

export function buildDecisionRecord(args: {
  decisionId: string;
  timeUs: number;
  router: string;
  /** The router's shard (instance group); "" (the default) when not sharded. */
  shard?: string;
  principal: Principal;
  request: RouteRequest;
  bundle: BundleRef;
  policyEvalUs: number;
  policyError?: string;
  catalogRevision: string;
  verdicts: readonly CandidateVerdict[];
  seed: bigint;
  plan: readonly string[];
}): DecisionRecordV1 {
  const req = args.request;
  const maxWeight = Math.max(0, ...args.verdicts.filter((v) => v.eligible).map((v) => v.weight));
  // Candidates as columns; their models and data-policy attributes are the catalog revision's.
  // Rolling performance only matters to (and is recorded for) eligible candidates: it orders the
  // plan; that keeps a 50-candidate record within 4 KB.
  const { checks, candidates } = candidateColumns(
    args.verdicts.map((v) => ({
      endpoint_id: v.endpoint.id,
      exclusions: v.exclusions,
      weight_ppb: v.eligible && maxWeight > 0 ? Math.round((v.weight / maxWeight) * 1e9) : 0,
      unhealthy: v.performance.unhealthy,
      ttft_us:
        !v.eligible || v.performance.ttftMs === undefined ? null : Math.round(v.performance.ttftMs * 1000),
      tokens_per_second_milli:
        !v.eligible || v.performance.tokensPerSecond === undefined
          ? null
          : Math.round(v.performance.tokensPerSecond * 1000),
    })),
  );
  return {
    v: 2,
    kind: "decision",
    decision_id: args.decisionId,
    time_us: args.timeUs,
    router: args.router,
    shard: args.shard ?? "",
    principal: {
      tenant: args.principal.tenant,
      workload: args.principal.workload,
      roles: [...args.principal.roles],
    },
    caller: callerOf(args.principal),
    request: {
      model: req.model,
      models: [...req.models],
      provider: recordedPreferences(req),
      region: req.region,
      labels: { ...req.labels },
      message_count: req.messages.length,
      estimated_prompt_tokens: estimatePromptTokens(req),
      max_tokens: req.maxTokens ?? null,
      parameters: usedParameters(req),
      modalities: modalitiesOf(req),
    },
    policy: {
      revision: args.bundle.revision,
      sha256: args.bundle.sha256,
      eval_us: Math.round(args.policyEvalUs),
      ...(args.policyError ? { error: args.policyError } : {}),
    },
    catalog_revision: args.catalogRevision,
    checks,
    candidates,
    // Defined for the content-labels issue: detectors and obligations fill these.
    labels: {},
    obligations: [],
    seed: args.seed.toString(),
    plan: [...args.plan],
  };
}
