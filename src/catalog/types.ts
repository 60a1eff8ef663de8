/**
 * Domain types of the catalog (docs/architecture.md §4). These are what the rest of the router sees:
 * every data-policy attribute is *effective* (endpoint value, else provider value, else the
 * assumed worst case) and carries where it came from.
 */

/**
 * Where an effective attribute's value came from. `runtime`: established by construction, for an
 * endpoint this router runs in-process (api local): nothing is stored, nothing trains, and it
 * runs where this deployment is (SOVR_LOCATION).
 */
export type AttributeSource = "endpoint" | "provider" | "runtime" | "assumed";

/** Caching of prompts by the provider. `persistent` counts as retention. */
export type Caching = "none" | "in_memory" | "persistent";

/** The provider's own published material a fact rests on. */
export interface Evidence {
  url: string;
  document?: string;
  /** ISO date (YYYY-MM-DD) the fact was last checked against the source. */
  verifiedOn: string;
}

export interface Attribute<T> {
  value: T;
  source: AttributeSource;
  evidence?: Evidence;
}

export interface Residency {
  /** e.g. "eu", "us"; null = unknown (matches no region). */
  region: string | null;
  /** ISO 3166-1 alpha-2; null = unknown. */
  country: string | null;
}

export interface EffectivePolicy {
  /** 0 = zero data retention; null = retained indefinitely (the assumed worst case). */
  retentionDays: Attribute<number | null>;
  trainsOnData: Attribute<boolean>;
  residency: Attribute<Residency>;
  caching: Attribute<Caching>;
}

/** USD per million tokens. */
export interface Pricing {
  prompt: number;
  completion: number;
  /** Prompt tokens read from the provider's cache; the prompt price when absent. */
  cachedPrompt?: number;
}

/** One upstream endpoint with its effective data policy. Immutable once built. */
export interface ResolvedEndpoint {
  id: string;
  provider: string;
  providerName: string;
  /** ISO 3166-1 alpha-2 of the provider's headquarters; null = unknown (the local provider without SOVR_LOCATION). */
  providerHeadquarters: string | null;
  model: string;
  /**
   * Model name to send upstream (the catalog's `upstream_model`, else `model`): providers name
   * their models differently from the router's `<owner>/<name>` form, e.g. `gpt-4o`.
   */
  upstreamModel?: string;
  /** Wire protocol of the upstream: "openai" | "anthropic" | "local" (in-process, base_url a file: URL). */
  api: string;
  baseUrl: string;
  /** Name of the env var holding the credential; never the credential itself. */
  apiKeyEnv?: string;
  pricing: Pricing;
  contextLength: number;
  /** The provider's limit on one answer's tokens, when it states one below the context. */
  maxOutputTokens?: number;
  quantization?: string;
  supportedParameters: readonly string[];
  /** chat, or embedding. */
  kind: "chat" | "embedding";
  /** Input modalities it takes, in the order text, image, audio, file; ["text"] when not stated. */
  inputModalities: readonly ("text" | "image" | "audio" | "file")[];
  /** The source of supportedParameters, inputModalities and the cached price (endpoint's, else provider's). */
  capabilitiesEvidence?: Evidence;
  policy: EffectivePolicy;
  /** Names of the attributes whose value is assumed (no fact established). */
  assumed: readonly string[];
  /** False when the credential env var is named but not set. */
  available: boolean;
  unavailableReason?: string;
}

/** Names of the data-policy facts, as the catalog YAML spells them. */
export type PolicyFactName = "retention_days" | "trains_on_data" | "caching" | "residency";

/** A provider's default policy exactly as stated: a fact it does not state stays absent. */
export interface StatedPolicy {
  retentionDays?: number;
  trainsOnData?: boolean;
  caching?: Caching;
  residency?: Residency;
  /** One source for every stated fact, when the catalog gives one for the whole block. */
  evidence?: Evidence;
  /** A source per fact, when the catalog gives one per fact (or residency carries its own). */
  factEvidence: Readonly<Partial<Record<PolicyFactName, Evidence>>>;
}

export interface ResolvedProvider {
  slug: string;
  name: string;
  headquarters: string | null;
  /** The provider-level defaults as written (not resolved: endpoints carry the effective values). */
  policy: StatedPolicy;
  endpointIds: readonly string[];
}

/** An accepted catalog state. `revision` is the sha256 (hex) of `canonical`. */
export interface CatalogSnapshot {
  revision: string;
  /** Canonical JSON of the catalog source, exactly as stored for replay. */
  canonical: string;
  providers: readonly ResolvedProvider[];
  endpoints: readonly ResolvedEndpoint[];
  byId: ReadonlyMap<string, ResolvedEndpoint>;
  byModel: ReadonlyMap<string, readonly ResolvedEndpoint[]>;
}
