import type { ResolvedEndpoint } from "../../src/catalog/types.js";
import { inverseSquareWeight } from "../../src/routing/selection.js";
import type {
  CandidateVerdict,
  EndpointPerformance,
  ProviderPreferences,
  RouteRequest,
} from "../../src/routing/types.js";

/** A resolved endpoint with the given overrides (effective policy: the assumed worst case). */
export function endpoint(id: string, o: Partial<ResolvedEndpoint> = {}): ResolvedEndpoint {
  const assumed = <T>(value: T) => ({ value, source: "assumed" as const });
  return {
    id,
    provider: id.split("/")[0]!,
    providerName: id,
    providerHeadquarters: "FR",
    model: "m/a",
    api: "openai",
    baseUrl: "http://127.0.0.1:9/v1",
    pricing: { prompt: 0.5, completion: 0.5 },
    contextLength: 32768,
    supportedParameters: ["temperature", "max_tokens"],
    policy: {
      retentionDays: assumed(null),
      trainsOnData: assumed(true),
      residency: assumed({ region: null, country: null }),
      caching: assumed("persistent" as const),
    },
    assumed: [],
    available: true,
    ...o,
  };
}

export function verdict(
  e: ResolvedEndpoint,
  performance: EndpointPerformance = { unhealthy: false },
): CandidateVerdict {
  return { endpoint: e, eligible: true, exclusions: [], weight: inverseSquareWeight(e.pricing), performance };
}

export function request(
  provider: Partial<ProviderPreferences> = {},
  o: Partial<RouteRequest> = {},
): RouteRequest {
  return {
    model: "m/a",
    models: [],
    messages: [{ role: "user", content: "hi" }],
    provider: { allowFallbacks: true, ...provider },
    region: null,
    labels: {},
    workload: "",
    ...o,
  };
}
