/**
 * Replay hook (DESIGN §8, `sovr audit replay`): turns a recorded decision back into the
 * router's inputs and runs the real {@link Router.decide} on them, so a replay exercises the
 * same code as the live request did. Pure apart from the policy evaluation.
 *
 * What is re-evaluated: the policy (from the bundle given), the request filters and the
 * seeded selection, over the given catalog revision. What is taken from the record as input,
 * because it was the router's view of the world at that instant and is not stored elsewhere:
 * the request summary (counts, never content), principal, time, seed, each endpoint's health
 * flag and rolling TTFT / throughput, and its availability (credentials present, tenant key).
 */

import type { DecisionRecord } from "../audit/record.js";
import { candidateRows } from "../audit/record-candidates.js";
import type { CatalogSnapshot, ResolvedEndpoint } from "../catalog/types.js";
import type { PolicyEvaluation } from "../policy/engine.js";
import { PolicyEvaluationError } from "../policy/errors.js";
import type { BundleRef, PolicyInput } from "../policy/types.js";
import type { TenantKey } from "./byok.js";
import { buildDecisionRecord, type DecisionRecordV1 } from "./decision-record.js";
import { NoEligibleEndpointError } from "./errors.js";
import { HealthTracker } from "./health.js";
import { endpointOrigin } from "./origin.js";
import { Router } from "./router.js";
import type { EndpointPerformance, Principal, ProviderPreferences, RouteRequest, SortBy } from "./types.js";

/** A request with the recorded summary's shape: same counts, parameters and preferences. */
export function routeRequestFromRecord(record: DecisionRecord): RouteRequest {
  const r = record.request;
  const p = r.provider as Record<string, unknown>;
  const provider: ProviderPreferences = { allowFallbacks: p.allow_fallbacks !== false };
  const strings = (v: unknown) => (Array.isArray(v) ? (v as string[]) : undefined);
  if (strings(p.order)) provider.order = strings(p.order);
  if (strings(p.only)) provider.only = strings(p.only);
  if (strings(p.ignore)) provider.ignore = strings(p.ignore);
  if (p.sort && typeof p.sort === "object") {
    const s = p.sort as { by: SortBy; partition: "model" | "none" };
    provider.sort = { by: s.by, partition: s.partition };
  }
  const mp = p.max_price_micro_usd as { prompt?: number; completion?: number } | undefined;
  if (mp) {
    provider.maxPrice = {
      ...(mp.prompt !== undefined ? { prompt: mp.prompt / 1_000_000 } : {}),
      ...(mp.completion !== undefined ? { completion: mp.completion / 1_000_000 } : {}),
    };
  }
  if (typeof p.zdr === "boolean") provider.zdr = p.zdr;
  if (p.data_collection === "allow" || p.data_collection === "deny")
    provider.dataCollection = p.data_collection;
  if (typeof p.require_parameters === "boolean") provider.requireParameters = p.require_parameters;
  if (strings(p.quantizations)) provider.quantizations = strings(p.quantizations);
  if (typeof p.preferred_min_throughput_milli === "number")
    provider.preferredMinThroughput = p.preferred_min_throughput_milli / 1000;
  if (typeof p.preferred_max_latency_ms === "number")
    provider.preferredMaxLatency = p.preferred_max_latency_ms / 1000;

  // Placeholder messages whose only property is their size: ceil(chars / 4) = the estimate.
  const count = Math.max(1, r.message_count);
  const messages = Array.from({ length: count }, (_, i) => ({
    role: "user" as const,
    content: i === 0 ? "x".repeat(r.estimated_prompt_tokens * 4) : "",
  }));
  const used = new Set(r.parameters);
  const req: RouteRequest = {
    model: r.model,
    models: [...r.models],
    messages: r.message_count === 0 ? [] : messages,
    provider,
    region: r.region,
    labels: { ...r.labels },
    workload: record.principal.workload,
  };
  if (r.max_tokens !== null) req.maxTokens = r.max_tokens;
  if (used.has("temperature")) req.temperature = 1;
  if (used.has("top_p")) req.topP = 1;
  if (used.has("stop")) req.stop = ["\n"];
  if (used.has("tools")) req.tools = [{ type: "function", function: { name: "replay" } }];
  if (used.has("tool_choice")) req.toolChoice = "auto";
  if (used.has("seed")) req.seed = 0;
  return req;
}

/** Health as recorded: each endpoint's flag and rolling performance at decision time. */
class RecordedHealth extends HealthTracker {
  readonly #byId: ReadonlyMap<string, EndpointPerformance>;

  constructor(record: DecisionRecord) {
    super();
    this.#byId = new Map(
      candidateRows(record).map((c) => [
        c.endpoint_id,
        {
          unhealthy: c.unhealthy,
          ttftMs: c.ttft_us === null ? undefined : c.ttft_us / 1000,
          tokensPerSecond: c.tokens_per_second_milli === null ? undefined : c.tokens_per_second_milli / 1000,
        },
      ]),
    );
  }

  override performance(id: string): EndpointPerformance {
    return this.#byId.get(id) ?? { unhealthy: false };
  }
}

const AVAILABILITY_PREFIX = "availability: ";

/** The snapshot with each endpoint's availability as the record saw it (credentials are live state). */
function withRecordedAvailability(snapshot: CatalogSnapshot, record: DecisionRecord): CatalogSnapshot {
  const recorded = new Map(candidateRows(record).map((c) => [c.endpoint_id, c]));
  const adjust = (e: ResolvedEndpoint): ResolvedEndpoint => {
    const c = recorded.get(e.id);
    if (!c) return e;
    const missing = c.exclusions.find((x) => x.stage === "availability" && x.rule === "credentials");
    if (missing) {
      const reason = missing.reason.startsWith(AVAILABILITY_PREFIX)
        ? missing.reason.slice(AVAILABILITY_PREFIX.length)
        : missing.reason;
      return {
        ...e,
        available: false,
        unavailableReason: reason === "endpoint is unavailable" ? undefined : reason,
      };
    }
    return e.available ? e : { ...e, available: true, unavailableReason: undefined };
  };
  const endpoints = snapshot.endpoints.map(adjust);
  const byId = new Map(endpoints.map((e) => [e.id, e]));
  const byModel = new Map<string, ResolvedEndpoint[]>();
  for (const [model, list] of snapshot.byModel)
    byModel.set(
      model,
      list.map((e) => byId.get(e.id) ?? e),
    );
  return { ...snapshot, endpoints, byId, byModel };
}

/**
 * Tenant keys as the record implies them: "must use own key, cannot decrypt" (`byok`) and "own
 * key not approved for this origin" (`byok_origin`) leave a trace; nothing else does. The
 * placeholder key of the second is never sent (a replay has no adapters).
 */
function recordedTenantKeys(record: DecisionRecord, snapshot: CatalogSnapshot) {
  const keys = new Map<string, TenantKey>();
  const suspended = new Map<string, Set<string>>();
  for (const c of candidateRows(record)) {
    const endpoint = snapshot.byId.get(c.endpoint_id);
    if (!endpoint) continue;
    if (c.exclusions.some((x) => x.stage === "availability" && x.rule === "byok")) {
      keys.set(endpoint.provider, { apiKey: undefined, always: true, origins: new Set() });
    }
    if (c.exclusions.some((x) => x.stage === "availability" && x.rule === "byok_origin")) {
      const set = suspended.get(endpoint.provider) ?? new Set<string>();
      set.add(endpointOrigin(endpoint));
      suspended.set(endpoint.provider, set);
    }
  }
  for (const [provider, away] of suspended) {
    const approved = snapshot.endpoints
      .filter((e) => e.provider === provider)
      .map(endpointOrigin)
      .filter((o) => !away.has(o));
    keys.set(provider, { apiKey: "replay-placeholder", always: false, origins: new Set(approved) });
  }
  return keys;
}

export interface ReplayPolicy {
  evaluate(input: PolicyInput): Promise<PolicyEvaluation>;
  /** The bundle this policy evaluates with. */
  bundle: BundleRef;
}

/**
 * Re-decides `record` with `policy` over `snapshot` (the recorded catalog revision) and
 * returns the decision record the router builds for it, as it would have been written.
 */
export async function redecide(
  record: DecisionRecord,
  snapshot: CatalogSnapshot,
  policy: ReplayPolicy,
): Promise<DecisionRecordV1> {
  const adjusted = withRecordedAvailability(snapshot, record);
  const keys = recordedTenantKeys(record, adjusted);
  const timeMs = record.time_us / 1000;
  const router = new Router({
    catalog: { current: () => adjusted },
    policy: { evaluate: (input) => policy.evaluate(input), activeBundle: () => policy.bundle },
    recorder: {
      recordDecision: async () => {},
      recordOutcome: async () => {},
    },
    adapters: {},
    health: new RecordedHealth(record),
    instance: record.router,
    timeouts: { connectTimeoutMs: 1, firstTokenTimeoutMs: 1, idleTimeoutMs: 1 },
    env: {},
    byok: { keysFor: async () => keys },
    now: () => timeMs,
  });
  const req = routeRequestFromRecord(record);
  const principal: Principal = {
    tenant: record.principal.tenant,
    workload: record.principal.workload,
    roles: [...record.principal.roles],
    // Routing does not read it; v2 records it (the caller), so the replayed record names it too.
    keyId: record.v === 2 ? record.caller.key_id : "",
    allTenants: false,
  };
  const seed = BigInt(record.seed);
  const base = {
    decisionId: record.decision_id,
    timeUs: record.time_us,
    router: record.router,
    principal,
    request: req,
    catalogRevision: adjusted.revision,
  };
  try {
    const d = await router.decide(req, principal, { record: false, seed });
    return { ...d.record, decision_id: record.decision_id };
  } catch (err) {
    if (err instanceof NoEligibleEndpointError) {
      return buildDecisionRecord({
        ...base,
        bundle: policy.bundle,
        policyEvalUs: 0,
        verdicts: err.candidates,
        seed,
        plan: [],
      });
    }
    if (err instanceof PolicyEvaluationError) {
      // As the router records it: every candidate refused, fail closed.
      const candidates = (adjusted.byModel.get(req.model) ?? []).concat(
        req.models.filter((m) => m !== req.model).flatMap((m) => adjusted.byModel.get(m) ?? []),
      );
      return buildDecisionRecord({
        ...base,
        bundle: policy.bundle,
        policyEvalUs: 0,
        policyError: err.kind,
        verdicts: candidates.map((endpoint) => ({
          endpoint,
          eligible: false,
          exclusions: [
            {
              stage: "policy",
              rule: "policy",
              reason: `policy: evaluation failed (${err.kind}); fail closed`,
            },
          ],
          weight: 0,
          performance: { unhealthy: false },
        })),
        seed: 0n,
        plan: [],
      });
    }
    throw err;
  }
}
