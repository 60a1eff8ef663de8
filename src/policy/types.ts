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
  /**
   * Served in-process or on a loopback/private address (catalog `isLocalEndpoint`): what
   * `local_only` keeps. Optional for inputs built before it (then remote: fail closed).
   */
  local?: boolean;
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
    /**
     * What the content detectors found in every text the request would send upstream: counts
     * per category found ("email", "iban", "secret", …), the detector's version and the parts
     * that could not be scanned. null when no detector is configured: a rule that depends on
     * content must then assume anything (fail closed). Never the text itself.
     */
    content_labels?: { version: string; counts: Record<string, number>; unscannable: number } | null;
  };
  principal: {
    tenant: string;
    workload: string;
    roles: string[];
    /**
     * How the caller proved who it is: kind "api_key" (subject: the key id), "jwt" (the token's
     * subject; claims: `iss` and the issuer's exposed claims), "mtls" (the matched SAN URI or
     * CN; claims: `cert_sha256`) or "anonymous" (auth off). Never the token.
     */
    identity?: { kind: string; subject: string; claims: Record<string, string> };
  };
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
  /** The policy asks for local endpoints first (route document `prefer_local: true`). */
  preferLocal?: boolean;
  /**
   * Endpoint id → what the router must do to send the request there: `redact` lists the
   * content categories to mask before the prompt leaves (restored in the answer). An endpoint
   * whose obligation cannot be applied is excluded (fail closed). Only allowed endpoints';
   * absent when the policy states none.
   */
  obligations?: Record<string, EndpointObligations>;
  /**
   * The reason prefixes of the checks the policy applied to every candidate (route document
   * `checks`, flattened: "zdr: ", "tenant acme: residency: "…), distinct and sorted; a candidate
   * failed one when a reason of its starts with the prefix, and passed it otherwise. Absent
   * from bundles whose output has no `checks` (then only failures are known).
   */
  applied?: string[];
}

/** The obligations of one endpoint (`obligations.<id>` of the route document). */
export interface EndpointObligations {
  /** Content categories to mask, sorted, distinct, non-empty. */
  redact: string[];
}

/** Identity of the bundle a decision was evaluated with (for the record and replay). */
export interface BundleRef {
  /** `.manifest` revision (derived from the Rego sources). */
  revision: string;
  /** sha256 (hex) of the bundle tarball bytes, as stored in the database. */
  sha256: string;
}
