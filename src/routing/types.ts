import type { ResolvedEndpoint } from "../catalog/index.js";
import type { EndpointObligations } from "../policy/index.js";
import type { UpstreamMessage, UpstreamTool } from "../upstream/index.js";

export type SortBy = "price" | "throughput" | "latency";

/**
 * Routing preferences with OpenRouter's names and meanings
 * (https://openrouter.ai/docs/features/provider-routing), normalised from either API.
 */
export interface ProviderPreferences {
  /** Endpoint ids or provider slugs to try first, in this order. */
  order?: readonly string[];
  /** Default true; false = one endpoint only. */
  allowFallbacks: boolean;
  only?: readonly string[];
  ignore?: readonly string[];
  sort?: { by: SortBy; partition: "model" | "none" };
  maxPrice?: { prompt?: number; completion?: number };
  zdr?: boolean;
  dataCollection?: "allow" | "deny";
  requireParameters?: boolean;
  quantizations?: readonly string[];
  /** Soft, tokens per second. */
  preferredMinThroughput?: number;
  /** Soft, seconds to first token. */
  preferredMaxLatency?: number;
  /** Local endpoints (catalog `isLocalEndpoint`) first in the plan, then the rest as usual. */
  preferLocal?: boolean;
  /** Local endpoints only (the policy's `local_only` check excludes the others). */
  localOnly?: boolean;
}

/** A chat request as the router sees it, whichever API it arrived on. */
export interface RouteRequest {
  model: string;
  models: readonly string[];
  messages: readonly UpstreamMessage[];
  provider: ProviderPreferences;
  region: string | null;
  labels: Readonly<Record<string, string>>;
  maxTokens?: number;
  temperature?: number;
  topP?: number;
  stop?: readonly string[];
  tools?: readonly UpstreamTool[];
  toolChoice?: unknown;
  seed?: number;
  /**
   * The other optional parameters, by their OpenAI names (routing/parameters.ts says which):
   * validated by the API edge, translated per upstream API by the adapters.
   */
  params?: Readonly<Record<string, unknown>>;
  /** What is asked for: a chat completion (the default) or embeddings (`messages` = inputs). */
  operation?: "chat" | "embedding";
  workload: string;
}

export type ExclusionStage = "policy" | "filter" | "availability";

export interface Exclusion {
  stage: ExclusionStage;
  /** The rule or preference at fault, e.g. "zdr", "only", "max_price". */
  rule: string;
  reason: string;
}

/** Rolling performance of an endpoint as seen by this router. */
export interface EndpointPerformance {
  /** Recent outage: moved behind healthy endpoints. */
  unhealthy: boolean;
  /** Rolling time to first token, ms; undefined without traffic. */
  ttftMs?: number;
  /** Rolling tokens per second; undefined without traffic. */
  tokensPerSecond?: number;
}

export interface CandidateVerdict {
  endpoint: ResolvedEndpoint;
  eligible: boolean;
  exclusions: Exclusion[];
  /** 1/price², for eligible endpoints. */
  weight: number;
  performance: EndpointPerformance;
  /** What the policy requires to send the request there (eligible endpoints only). */
  obligations?: EndpointObligations;
}

/**
 * The seam to the content detectors (issue 16): finds sensitive spans in one text. The
 * routing layer never imports the detectors themselves; the composition root passes one in
 * ({@link RouterDeps}). Spans are UTF-16 offsets, sorted and non-overlapping; `category` is
 * e.g. "email", "iban", "secret".
 */
export interface ContentDetector {
  /** Named in the policy input and the record, e.g. "sovr-detect/1". */
  version: string;
  findSpans(text: string): readonly { start: number; end: number; category: string }[];
}

/**
 * What the detectors found in a request, as the policy and the record see it: counts per
 * category (only categories found), the detector's version, how many parts could not be
 * scanned (a binary file, a PDF that cannot be read), and the categories found in parts the
 * router cannot rewrite (a PDF's text), which a redact obligation therefore cannot mask. Never
 * the matched text, its position or a hash of it.
 */
export interface ContentLabels {
  version: string;
  counts: Readonly<Record<string, number>>;
  unscannable: number;
  /** Sorted; absent when none. */
  unmaskable?: readonly string[];
}

/**
 * What the prober last saw of a local runtime (routing/local-prober.ts): `unknown` until the
 * first probe answers, and for endpoints that are not probed.
 */
export type Reachability =
  | { state: "unknown" }
  | { state: "reachable"; checkedAtMs: number }
  | { state: "unreachable"; checkedAtMs: number; reason: string };
