/**
 * The routing decision as a value (docs/architecture.md §6): candidates → policy → request filters → plan,
 * and the decision record describing it. Live routing ({@link Router.stream}), Explain, the
 * model list and replay all call {@link decide}; a refusal is an outcome here, and only the API
 * edge turns it into a status. Writes nothing: making the record durable is the caller's part.
 */
import type { Principal, TenantKey } from "../auth/index.js";
import type { BudgetRefusal } from "../budget/index.js";
import type { CatalogSnapshot, ResolvedEndpoint } from "../catalog/index.js";
import type { BundleRef, PolicyEvaluation, PolicyInput } from "../policy/index.js";
import { PolicyError, PolicyEvaluationError } from "../policy/index.js";
import { appliedChecks } from "./applied-checks.js";
import { buildDecisionRecord, type DecisionRecordV1 } from "./decision-record.js";
import { UnknownModelError } from "./errors.js";
import { requestExclusions } from "./filters.js";
import { checkModelScope, keyScopeExclusion } from "./key-scope.js";
import { obligationExclusion } from "./obligations.js";
import { buildPolicyInput } from "./policy-input.js";
import { seededRng } from "./rng.js";
import { inverseSquareWeight, planRoute } from "./selection.js";
import type {
  CandidateVerdict,
  ContentLabels,
  EndpointPerformance,
  Exclusion,
  Reachability,
  RouteRequest,
} from "./types.js";

/** What a decision depends on besides the request: the router's view of the world at one instant. */
export interface DecisionInputs {
  snapshot: CatalogSnapshot;
  policy: {
    evaluate(input: PolicyInput): Promise<PolicyEvaluation>;
    /** The bundle new evaluations use, to name in the record when an evaluation fails. */
    activeBundle(): BundleRef | undefined;
  };
  /** Each endpoint's health flag and rolling performance. */
  performance(endpointId: string): EndpointPerformance;
  /**
   * Whether a probed local runtime answers (routing/local-prober.ts); an `unreachable` one is
   * excluded before any attempt (stage availability, rule `unreachable`). Absent: none is probed.
   */
  reachability?(endpointId: string): Reachability;
  /** The tenant's own provider keys (BYOK), by provider slug. */
  keys: ReadonlyMap<string, TenantKey>;
  /** The router instance named in the record. */
  instance: string;
  timeMs: number;
  decisionId: string;
  /** Seeds the weighted selection; recorded, so a replay draws the same plan. */
  seed: bigint;
  /**
   * What the content detectors found in the request (content-labels.ts); undefined when no
   * detector is configured. Live routing scans the request; replay reads the record.
   */
  contentLabels?: ContentLabels;
}

interface DecisionCommon {
  id: string;
  timeUs: number;
  catalogRevision: string;
  verdicts: CandidateVerdict[];
}

/** Some endpoint may serve: `plan` is non-empty, in the order to try. */
export interface RoutedDecision extends DecisionCommon {
  outcome: "routed";
  seed: bigint;
  plan: ResolvedEndpoint[];
  bundle: BundleRef;
  policyEvalUs: number;
  record: DecisionRecordV1;
}

/** Every candidate excluded (policy, preferences or availability); `verdicts` say why. */
export interface DeniedDecision extends DecisionCommon {
  outcome: "denied";
  seed: bigint;
  plan: [];
  bundle: BundleRef;
  policyEvalUs: number;
  record: DecisionRecordV1;
  /** Set when the plan was denied for a budget (routing/budget-hold.ts): the budget it would exceed. */
  budget?: BudgetRefusal;
}

/**
 * The policy could not decide (no bundle, evaluation failed): fail closed. `record` names
 * the bundle that failed, every candidate refused; there is none without a bundle to name.
 */
export interface PolicyErrorDecision extends DecisionCommon {
  outcome: "policy_error";
  error: PolicyError;
  plan: [];
  /** The bundle that failed to decide, when one is loaded. */
  bundle: BundleRef | undefined;
  record: DecisionRecordV1 | undefined;
}

export type Decision = RoutedDecision | DeniedDecision | PolicyErrorDecision;

/** Endpoints serving the model, then each fallback model's; none is the caller's error. */
export function candidatesFor(snapshot: CatalogSnapshot, req: RouteRequest): ResolvedEndpoint[] {
  const models = [req.model, ...req.models.filter((m) => m !== req.model)];
  const candidates = models.flatMap((m) => snapshot.byModel.get(m) ?? []);
  if (candidates.length === 0) throw new UnknownModelError(req.model);
  return candidates;
}

/** Performance values rounded as the record stores them, so a replay sees exactly these. */
function quantize(p: EndpointPerformance): EndpointPerformance {
  return {
    unhealthy: p.unhealthy,
    ttftMs: p.ttftMs === undefined ? undefined : Math.round(p.ttftMs * 1000) / 1000,
    tokensPerSecond:
      p.tokensPerSecond === undefined ? undefined : Math.round(p.tokensPerSecond * 1000) / 1000,
  };
}

/**
 * Decides `req` for `principal` from `inputs` alone. Throws only for a model nothing serves
 * ({@link UnknownModelError}), a model outside the caller's key scope (KeyScopeError)
 * and for faults that are not decisions (bugs).
 */
export async function decide(
  req: RouteRequest,
  principal: Principal,
  inputs: DecisionInputs,
): Promise<Decision> {
  const { snapshot, keys } = inputs;
  checkModelScope(req, principal);
  const candidates = candidatesFor(snapshot, req);
  const common = {
    id: inputs.decisionId,
    timeUs: inputs.timeMs * 1000,
    catalogRevision: snapshot.revision,
  };
  const recordOf = (args: {
    bundle: BundleRef;
    policyEvalUs: number;
    policyError?: string;
    verdicts: readonly CandidateVerdict[];
    seed: bigint;
    plan: readonly string[];
    applied?: ReturnType<typeof appliedChecks>;
  }) =>
    buildDecisionRecord({
      decisionId: inputs.decisionId,
      timeUs: common.timeUs,
      router: inputs.instance,
      principal,
      request: req,
      catalogRevision: snapshot.revision,
      contentLabels: inputs.contentLabels,
      ...args,
    });

  const input = buildPolicyInput(
    req,
    principal,
    candidates,
    new Date(inputs.timeMs).toISOString(),
    inputs.contentLabels,
  );
  let evaluation: PolicyEvaluation;
  try {
    evaluation = await inputs.policy.evaluate(input);
  } catch (err) {
    if (!(err instanceof PolicyError)) throw err;
    // Fail closed: every candidate refused; recorded when there is a bundle to name.
    const verdicts = candidates.map((endpoint) => ({
      endpoint,
      eligible: false,
      exclusions: [
        {
          stage: "policy" as const,
          rule: "policy",
          reason:
            err instanceof PolicyEvaluationError
              ? `policy: evaluation failed (${err.kind}); fail closed`
              : "policy: unavailable; fail closed",
        },
      ],
      weight: 0,
      performance: { unhealthy: false },
    }));
    const bundle = err instanceof PolicyEvaluationError ? inputs.policy.activeBundle() : undefined;
    const record =
      bundle && err instanceof PolicyEvaluationError
        ? recordOf({ bundle, policyEvalUs: 0, policyError: err.kind, verdicts, seed: 0n, plan: [] })
        : undefined;
    return { ...common, outcome: "policy_error", error: err, verdicts, plan: [], bundle, record };
  }

  const { decision: policy, bundle } = evaluation;
  const allowed = new Set(policy.allow);
  const permitted = new Set(policy.permittedParameters);
  const verdicts: CandidateVerdict[] = candidates.map((endpoint) => {
    const exclusions: Exclusion[] = [];
    const reasons = policy.deny[endpoint.id];
    if (reasons && reasons.length > 0) {
      for (const reason of reasons)
        exclusions.push({ stage: "policy", rule: reason.split(":")[0] ?? "policy", reason });
    } else if (!allowed.has(endpoint.id)) {
      exclusions.push({
        stage: "policy",
        rule: "policy",
        reason: "policy: not allowed by any rule (fail closed)",
      });
    }
    const obligations = policy.obligations?.[endpoint.id];
    const unmet = obligations && obligationExclusion(obligations, req, inputs.contentLabels);
    if (unmet) exclusions.push(unmet);
    exclusions.push(...requestExclusions(endpoint, req, keys.get(endpoint.provider), permitted));
    const outOfScope = keyScopeExclusion(endpoint, principal);
    if (outOfScope) exclusions.push(outOfScope);
    const reach = inputs.reachability?.(endpoint.id);
    if (reach?.state === "unreachable")
      exclusions.push({ stage: "availability", rule: "unreachable", reason: `unreachable: ${reach.reason}` });
    const eligible = exclusions.length === 0;
    return {
      endpoint,
      eligible,
      exclusions,
      weight: eligible ? inverseSquareWeight(endpoint.pricing) : 0,
      performance: quantize(inputs.performance(endpoint.id)),
      ...(eligible && obligations ? { obligations } : {}),
    };
  });
  const seed = inputs.seed;
  // prefer_local: the caller's preference, or imposed by the policy (route output prefer_local).
  const preferLocal = req.provider.preferLocal === true || policy.preferLocal === true;
  const plan = planRoute(
    verdicts.filter((v) => v.eligible),
    preferLocal ? { ...req, provider: { ...req.provider, preferLocal } } : req,
    seededRng(seed),
  ).map((v) => v.endpoint);
  const policyEvalUs = evaluation.evalMicros;
  const applied = appliedChecks(req, policy);
  const record = recordOf({ bundle, policyEvalUs, verdicts, seed, plan: plan.map((e) => e.id), applied });
  // Written out once: a spread of a spread cost ~8 µs a request in the 500 req/s profile.
  const { id, timeUs, catalogRevision } = common;
  return {
    id,
    timeUs,
    catalogRevision,
    seed,
    verdicts,
    bundle,
    policyEvalUs,
    record,
    // No endpoint left: the plan is empty, the decision a denial.
    outcome: plan.length === 0 ? "denied" : "routed",
    plan,
  } as RoutedDecision | DeniedDecision;
}
