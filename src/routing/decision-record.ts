import type {
  AppliedCheckRecord,
  AttemptRecord as AuditAttemptRecord,
  CallerRecord,
  DecisionRecordV2,
  OutcomeRecord,
  Unsequenced,
} from "../audit/index.js";
import { candidateColumns, linkChecks } from "../audit/index.js";
import type { Principal } from "../auth/index.js";
import type { BundleRef } from "../policy/index.js";
import type { UpstreamErrorClass } from "../upstream/index.js";
import { labelsToRecord } from "./content-labels.js";
import { estimatePromptTokens, inputModalities } from "./filters.js";
import { obligationsToRecord } from "./obligations.js";
import { usedParameters } from "./parameters.js";
import { preferencesToRecord } from "./preferences-codec.js";
import type { CandidateVerdict, ContentLabels, RouteRequest } from "./types.js";

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

/**
 * Who called, as a record names it: an API key (its workload name and id, as before workload
 * identity), a JWT or certificate (subject and selected claims, never the token), or nobody
 * when authentication is off.
 */
export function callerOf(principal: Principal): CallerRecord {
  const id = principal.identity;
  if (id && id.kind !== "api_key")
    return { kind: id.kind, subject: id.subject, key_id: "", claims: { ...id.claims } };
  return principal.keyId === ""
    ? { kind: "anonymous", subject: "", key_id: "" }
    : { kind: "api_key", subject: principal.workload, key_id: principal.keyId };
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
  /** What the detectors found (counts and version); undefined without a detector. */
  contentLabels?: ContentLabels;
  /** The checks applied to every candidate (applied-checks.ts); undefined when the policy failed. */
  applied?: AppliedCheckRecord[];
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
      provider: preferencesToRecord(req.provider),
      region: req.region,
      labels: { ...req.labels },
      message_count: req.messages.length,
      estimated_prompt_tokens: estimatePromptTokens(req),
      max_tokens: req.maxTokens ?? null,
      parameters: usedParameters(req),
      modalities: inputModalities(req),
      ...(req.operation === "embedding" ? { operation: "embedding" as const } : {}),
    },
    policy: {
      revision: args.bundle.revision,
      sha256: args.bundle.sha256,
      eval_us: Math.round(args.policyEvalUs),
      ...(args.policyError ? { error: args.policyError } : {}),
    },
    catalog_revision: args.catalogRevision,
    checks: args.applied ? linkChecks(checks, args.applied) : checks,
    ...(args.applied ? { applied: args.applied } : {}),
    candidates,
    // Counts per category and the detector's version (never the text, its place or a hash),
    // and the obligations the planned endpoints come with.
    labels: labelsToRecord(args.contentLabels),
    obligations: obligationsToRecord(args.verdicts, args.plan),
    seed: args.seed.toString(),
    plan: [...args.plan],
  };
}
