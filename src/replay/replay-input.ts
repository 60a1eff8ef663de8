/**
 * Replay hook (docs/architecture.md §8, `sovr audit replay`): turns a recorded decision back into the
 * router's inputs and runs the same {@link decide} as live routing on them, so a replay
 * exercises the same code as the live request did. Pure apart from the policy evaluation.
 *
 * What is re-evaluated: the policy (from the bundle given), the request filters and the
 * seeded selection, over the given catalog revision. What is taken from the record as input,
 * because it was the router's view of the world at that instant and is not stored elsewhere:
 * the request summary (counts, never content), principal, time, seed, each endpoint's health
 * flag and rolling TTFT / throughput, and its availability (credentials present, tenant key).
 */

import { candidateRows, type DecisionRecord } from "../audit/index.js";
import type { Principal, TenantKey } from "../auth/index.js";
import { endpointOrigin } from "../auth/index.js";
import type { CatalogSnapshot, ResolvedEndpoint } from "../catalog/index.js";
import type { BundleRef, PolicyEvaluation, PolicyInput } from "../policy/index.js";
import type { EndpointPerformance, RouteRequest } from "../routing/index.js";
import { type Decision, decide, preferencesFromRecord } from "../routing/index.js";

/** A request with the recorded summary's shape: same counts, parameters and preferences. */
export function routeRequestFromRecord(record: DecisionRecord): RouteRequest {
  const r = record.request;
  const provider = preferencesFromRecord(r.provider);

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
function recordedPerformance(record: DecisionRecord): (id: string) => EndpointPerformance {
  const byId = new Map<string, EndpointPerformance>(
    candidateRows(record).map((c) => [
      c.endpoint_id,
      {
        unhealthy: c.unhealthy,
        ttftMs: c.ttft_us === null ? undefined : c.ttft_us / 1000,
        tokensPerSecond: c.tokens_per_second_milli === null ? undefined : c.tokens_per_second_milli / 1000,
      },
    ]),
  );
  return (id) => byId.get(id) ?? { unhealthy: false };
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
 * Re-decides `record` with `policy` over `snapshot` (the recorded catalog revision): the
 * live router's own {@link decide}, fed the recorded view of the world. Returns the decision,
 * whose record is the one the router builds for it, as it would have been written.
 */
export async function redecide(
  record: DecisionRecord,
  snapshot: CatalogSnapshot,
  policy: ReplayPolicy,
): Promise<Decision> {
  const adjusted = withRecordedAvailability(snapshot, record);
  const principal: Principal = {
    tenant: record.principal.tenant,
    workload: record.principal.workload,
    roles: [...record.principal.roles],
    // Routing does not read it; v2 records it (the caller), so the replayed record names it too.
    keyId: record.v === 2 ? record.caller.key_id : "",
    allTenants: false,
  };
  return decide(routeRequestFromRecord(record), principal, {
    snapshot: adjusted,
    policy: { evaluate: (input) => policy.evaluate(input), activeBundle: () => policy.bundle },
    performance: recordedPerformance(record),
    keys: recordedTenantKeys(record, adjusted),
    instance: record.router,
    timeMs: record.time_us / 1000,
    decisionId: record.decision_id,
    seed: BigInt(record.seed),
  });
}
