import type { AttemptRecord as AuditAttemptRecord, DecisionRecord, OutcomeRecord } from "../audit/index.js";
import type { Principal } from "../auth/index.js";
import type { BundleRef } from "../policy/index.js";
import type { UpstreamErrorClass } from "../upstream/index.js";
import { estimatePromptTokens, usedParameters } from "./filters.js";
import { preferencesToRecord } from "./preferences-codec.js";
import type { CandidateVerdict, RouteRequest } from "./types.js";

/**
 * Records (docs/audit.md, defined once in src/audit/record.ts), built here from a routing
 * decision: format v2, whose `tenant_seq` the audit log fills in as it signs. Integers only:
 * times in µs since the epoch, money in micro-USD, weights as parts per billion. Never message
 * content, nor any hash of it: only counts. (The V1 names predate v2; they name the shape.)
 */
export type DecisionRecordV1 = DecisionRecord;
export type OutcomeRecordV1 = OutcomeRecord;
export type AttemptRecord = AuditAttemptRecord & { error_class: UpstreamErrorClass | null };

export function buildDecisionRecord(args: {
  decisionId: string;
  timeUs: number;
  router: string;
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
  return {
    v: 2,
    kind: "decision",
    decision_id: args.decisionId,
    time_us: args.timeUs,
    router: args.router,
    principal: {
      tenant: args.principal.tenant,
      workload: args.principal.workload,
      roles: [...args.principal.roles],
    },
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
    },
    policy: {
      revision: args.bundle.revision,
      sha256: args.bundle.sha256,
      eval_us: Math.round(args.policyEvalUs),
      ...(args.policyError ? { error: args.policyError } : {}),
    },
    catalog_revision: args.catalogRevision,
    candidates: args.verdicts.map((v) => ({
      endpoint_id: v.endpoint.id,
      model: v.endpoint.model,
      eligible: v.eligible,
      exclusions: v.exclusions.map((e) => ({ stage: e.stage, rule: e.rule, reason: e.reason })),
      weight_ppb: v.eligible && maxWeight > 0 ? Math.round((v.weight / maxWeight) * 1e9) : 0,
      unhealthy: v.performance.unhealthy,
      ttft_us: v.performance.ttftMs === undefined ? null : Math.round(v.performance.ttftMs * 1000),
      tokens_per_second_milli:
        v.performance.tokensPerSecond === undefined ? null : Math.round(v.performance.tokensPerSecond * 1000),
    })),
    seed: args.seed.toString(),
    plan: [...args.plan],
  };
}
