/**
 * Replay hook (docs/architecture.md §8, `sovr audit replay`): turns a recorded decision back into the
 * router's inputs and runs the same {@link decide} as live routing on them, so a replay
 * exercises the same code as the live request did. Pure apart from the policy evaluation.
 *
 * What is re-evaluated: the policy (from the bundle given), the request filters and the
 * seeded selection, over the given catalog revision. What is taken from the record as input,
 * because it was the router's view of the world at that instant and is not stored elsewhere:
 * the request summary (counts, never content), the content labels (the detectors' counts),
 * principal, time, seed, each endpoint's health flag and rolling TTFT / throughput, and its
 * availability (credentials present, tenant key, a probed local runtime unreachable), and the
 * API key's provider scope (the `key_scope` exclusions).
 */

import { type CallerRecord, candidateRows, type DecisionRecord } from "../audit/index.js";
import type { Principal, TenantKey } from "../auth/index.js";
import { endpointOrigin } from "../auth/index.js";
import type { CatalogSnapshot, ResolvedEndpoint } from "../catalog/index.js";
import type { BundleRef, PolicyEvaluation, PolicyInput } from "../policy/index.js";
import type { EndpointPerformance, Reachability, RouteRequest } from "../routing/index.js";
import { type Decision, decide, labelsFromRecord, preferencesFromRecord } from "../routing/index.js";
import type { ContentPart, UpstreamMessage } from "../upstream/index.js";

/**
 * A request with the recorded summary's shape: same counts, estimate, modalities, parameters
 * (names only: each gets a placeholder value that uses it) and preferences.
 */
export function routeRequestFromRecord(record: DecisionRecord): RouteRequest {
  const r = record.request;
  const provider = preferencesFromRecord(r.provider);
  const used = new Set(r.parameters);
  const modalities = "modalities" in r ? r.modalities : r.message_count > 0 ? ["text"] : [];
  const count = Math.max(1, r.message_count);
  const messages: UpstreamMessage[] = Array.from({ length: count }, () => ({
    role: "user" as const,
    content: "",
  }));
  messages[0] = { role: "user", content: placeholderContent(r.estimated_prompt_tokens, modalities, used) };
  const req: RouteRequest = {
    model: r.model,
    models: [...r.models],
    messages: r.message_count === 0 ? [] : messages,
    provider,
    region: r.region,
    labels: { ...r.labels },
    workload: record.principal.workload,
  };
  if ("operation" in r && r.operation === "embedding") req.operation = "embedding";
  if (r.max_tokens !== null) req.maxTokens = r.max_tokens;
  if (used.has("temperature")) req.temperature = 1;
  if (used.has("top_p")) req.topP = 1;
  if (used.has("stop")) req.stop = ["\n"];
  if (used.has("tools")) req.tools = [{ type: "function", function: { name: "replay" } }];
  if (used.has("tool_choice")) req.toolChoice = "auto";
  if (used.has("seed")) req.seed = 0;
  const params: Record<string, unknown> = {};
  for (const name of used) {
    if (name in CORE || name === "structured_outputs" || name === "image_urls") continue;
    params[name] = PLACEHOLDER[name] ?? true;
  }
  if (used.has("structured_outputs")) params.response_format = { type: "json_schema" };
  if (Object.keys(params).length > 0) req.params = params;
  return req;
}

const CORE = { max_tokens: 1, temperature: 1, top_p: 1, stop: 1, tools: 1, tool_choice: 1, seed: 1 };

/** Values that make `usedParameters` count a parameter (n = 1 and store: false do not). */
const PLACEHOLDER: Readonly<Record<string, unknown>> = {
  n: 2,
  store: true,
  response_format: { type: "json_object" },
};

/**
 * The first placeholder message: one part per recorded modality and text (or another part's
 * size) making up the recorded estimate — filters.ts `estimatePromptTokens` counts an image as
 * 4,000 characters, audio as an eighth and a file as a quarter of its base64 length.
 */
function placeholderContent(
  estimate: number,
  modalities: readonly string[],
  used: ReadonlySet<string>,
): UpstreamMessage["content"] {
  if (!modalities.some((m) => m !== "text")) return "x".repeat(estimate * 4);
  const parts: ContentPart[] = [];
  let chars = estimate * 4;
  if (modalities.includes("image")) {
    parts.push({
      type: "image",
      source: used.has("image_urls")
        ? { kind: "url", url: "https://replay.invalid/image" }
        : { kind: "base64", mediaType: "image/png", data: "" },
    });
    chars -= 4000;
  }
  const rest = Math.max(0, chars);
  const audio = modalities.includes("audio");
  const file = modalities.includes("file");
  if (modalities.includes("text")) parts.unshift({ type: "text", text: "x".repeat(rest) });
  if (audio)
    parts.push({
      type: "audio",
      format: "wav",
      data: modalities.includes("text") ? "" : "x".repeat(rest * 8),
    });
  if (file) {
    const data = modalities.includes("text") || audio ? "" : "x".repeat(rest * 4);
    parts.push({ type: "file", source: { kind: "base64", mediaType: "application/pdf", data } });
  }
  if (!modalities.includes("text") && !audio && !file && rest > 0) {
    // Images only: each further 1,000 tokens was another image.
    for (let k = 0; k < Math.ceil(rest / 4000); k++) parts.push(parts[0]!);
  }
  return parts;
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
const UNREACHABLE_PREFIX = "unreachable: ";

/**
 * Reachability of the probed local runtimes as recorded: an `unreachable` exclusion is the
 * prober's answer at decision time (live state, like health), given back with its reason.
 */
function recordedReachability(record: DecisionRecord): (id: string) => Reachability {
  const down = new Map<string, string>();
  for (const c of candidateRows(record)) {
    const x = c.exclusions.find((e) => e.stage === "availability" && e.rule === "unreachable");
    if (x)
      down.set(
        c.endpoint_id,
        x.reason.startsWith(UNREACHABLE_PREFIX) ? x.reason.slice(UNREACHABLE_PREFIX.length) : x.reason,
      );
  }
  return (id) => {
    const reason = down.get(id);
    return reason === undefined ? { state: "unknown" } : { state: "unreachable", checkedAtMs: 0, reason };
  };
}

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

/**
 * The API key's provider scope as the record implies it: the providers whose candidates were
 * excluded with rule `key_scope` were outside it, every other one inside. (A model outside the
 * scope is refused before any record is made, so the model scope leaves no trace to replay.)
 */
function recordedKeyScope(record: DecisionRecord, snapshot: CatalogSnapshot): Pick<Principal, "scope"> {
  const outside = new Set<string>();
  for (const c of candidateRows(record)) {
    const endpoint = snapshot.byId.get(c.endpoint_id);
    if (endpoint && c.exclusions.some((x) => x.rule === "key_scope")) outside.add(endpoint.provider);
  }
  if (outside.size === 0) return {};
  const providers = [...new Set(snapshot.endpoints.map((e) => e.provider))].filter((p) => !outside.has(p));
  // An empty list would mean "any provider": a provider no endpoint has keeps it non-empty.
  return { scope: { models: [], providers: providers.length > 0 ? providers : [""] } };
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
    ...recordedKeyScope(record, adjusted),
    // The policy saw the caller's identity; the record's caller holds it (v2).
    ...(record.v === 2 ? identityOfCaller(record.caller) : {}),
  };
  return decide(routeRequestFromRecord(record), principal, {
    snapshot: adjusted,
    policy: { evaluate: (input) => policy.evaluate(input), activeBundle: () => policy.bundle },
    performance: recordedPerformance(record),
    reachability: recordedReachability(record),
    keys: recordedTenantKeys(record, adjusted),
    instance: record.router,
    timeMs: record.time_us / 1000,
    decisionId: record.decision_id,
    seed: BigInt(record.seed),
    // The detectors' counts as recorded, fed to the policy as they were: the text is not kept,
    // so it is never re-scanned (and a replay needs no detector).
    contentLabels: record.v === 2 ? labelsFromRecord(record.labels) : undefined,
  });
}

/** The principal's identity as the record's caller names it (the inverse of routing's callerOf). */
function identityOfCaller(caller: CallerRecord): Pick<Principal, "identity"> {
  if (caller.kind === "jwt" || caller.kind === "mtls")
    return { identity: { kind: caller.kind, subject: caller.subject, claims: { ...caller.claims } } };
  if (caller.kind === "api_key") return { identity: { kind: "api_key", subject: caller.key_id, claims: {} } };
  return {};
}
