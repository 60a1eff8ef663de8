/**
 * The policy contract (docs/architecture.md §5). The input is JSON handed to the Rego entrypoint
 * `sovereign/route`; the output is parsed into a {@link PolicyDecision}.
 * Field names are snake_case because Rego authors read them.
 */

export interface PolicyAttribute<T> {
  value: T;
  source: "endpoint" | "provider" | "runtime" | "assumed";
}

/** One candidate endpoint as the policy sees it. */
export interface PolicyEndpointInput {
  id: string;
  provider: string;
  /** null = unknown (the local provider without SOVR_LOCATION). */
  provider_headquarters: string | null;
  model: string;
  quantization: string | null;
  pricing: { prompt: number; completion: number };
  context_length: number;
  supported_parameters: string[];
  /** "chat" or "embedding". */
  kind: string;
  /** Input modalities the endpoint takes: "text", "image", "audio", "file". */
  input_modalities: string[];
  /** null value = retained indefinitely. */
  retention_days: PolicyAttribute<number | null>;
  trains_on_data: PolicyAttribute<boolean | null>;
  residency: PolicyAttribute<{ region: string | null; country: string | null }>;
  caching: PolicyAttribute<"none" | "in_memory" | "persistent" | null>;
}

export interface PolicyInput {
  request: {
    model: string;
    models: string[];
    /** Routing preferences, OpenRouter names (order, only, ignore, zdr, data_collection, …). */
    provider: Record<string, unknown>;
    region: string | null;
    labels: Record<string, string>;
    estimated_prompt_tokens: number;
    max_tokens: number | null;
    /** Names of the optional parameters the request uses (routing/parameters.ts). */
    parameters: string[];
    /**
     * Of those, the ones that would have the provider keep or cache data (`store`,
     * `metadata`, prompt-cache hints): sent only if the decision's `permitted_parameters`
     * names them.
     */
    retention_parameters: string[];
    /** Input modalities, sorted: "text", "image", "audio", "file" (never the content). */
    modalities: string[];
    /** "chat" or "embedding". */
    operation: string;
  };
  principal: { tenant: string; workload: string; roles: string[] };
  endpoints: PolicyEndpointInput[];
  /** RFC 3339 time of the request; the policy never reads the clock. */
  now: string;
}

export interface PolicyDecision {
  allow: string[];
  /** Endpoint id → human-readable reasons, each naming the rule. */
  deny: Record<string, string[]>;
  /**
   * Retention parameters of the request (`input.request.retention_parameters`) the policy
   * permits to be sent; none when the policy says nothing (fail closed).
   */
  permittedParameters: string[];
}

/** Identity of the bundle a decision was evaluated with (for the record and replay). */
export interface BundleRef {
  /** `.manifest` revision (derived from the Rego sources). */
  revision: string;
  /** sha256 (hex) of the bundle tarball bytes, as stored in the database. */
  sha256: string;
}
