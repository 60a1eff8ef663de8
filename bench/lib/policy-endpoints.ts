import type { PolicyEndpointInput, PolicyInput } from "../../src/policy/types.js";

/** A realistic mix: compliant EU, retaining US, unknown attributes, non-EU country in "eu". */
export function benchEndpoints(n: number): PolicyEndpointInput[] {
  return Array.from({ length: n }, (_, i) => {
    const kind = i % 4;
    return {
      id: `provider-${i % 17}/model-${i}`,
      provider: `provider-${i % 17}`,
      provider_headquarters: ["FR", "US", "DE", ""][kind]!,
      model: "bench/model",
      quantization: "bf16",
      pricing: { prompt: 1 + (i % 5), completion: 2 + (i % 7) },
      context_length: 131072,
      supported_parameters: ["temperature", "top_p", "max_tokens", "tools"],
      kind: "chat",
      input_modalities: ["text"],
      retention_days:
        kind === 2 ? { value: null, source: "assumed" } : { value: kind === 1 ? 30 : 0, source: "provider" },
      trains_on_data: kind === 2 ? { value: null, source: "assumed" } : { value: false, source: "provider" },
      residency:
        kind === 2
          ? { value: { region: null, country: null }, source: "assumed" }
          : {
              value:
                kind === 1
                  ? { region: "us", country: "US" }
                  : { region: "eu", country: kind === 3 ? "CH" : "FR" },
              source: "endpoint",
            },
      caching: kind === 2 ? { value: null, source: "assumed" } : { value: "in_memory", source: "provider" },
    };
  });
}

/** The policy benches' request: `tenant`'s chat request with `provider` preferences and `region`. */
export function benchPolicyInput(
  endpoints: PolicyEndpointInput[],
  tenant: string,
  provider: Record<string, unknown>,
  region: string | null,
): PolicyInput {
  return {
    request: {
      model: "bench/model",
      models: [],
      provider,
      region,
      labels: {},
      estimated_prompt_tokens: 1200,
      max_tokens: 512,
      parameters: ["temperature"],
      retention_parameters: [],
      modalities: ["text"],
      operation: "chat",
    },
    principal: { tenant, workload: "bench", roles: ["client"] },
    endpoints,
    now: new Date(0).toISOString(),
  };
}
