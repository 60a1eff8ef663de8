/**
 * What the router asks of an upstream, independent of wire protocol. Adapters translate this
 * into their provider's API and yield typed events back.
 */
/**
 * Where an image or file comes from: a URL the upstream fetches itself (the router never
 * fetches one), or the bytes inline (base64, as a data URL carries them).
 */
export type MediaSource = { kind: "url"; url: string } | { kind: "base64"; mediaType: string; data: string };

/** One part of a message's content, whichever API it arrived on. */
export type ContentPart =
  | { type: "text"; text: string }
  | { type: "image"; source: MediaSource; detail?: "auto" | "low" | "high" }
  | { type: "audio"; data: string; format: "wav" | "mp3" }
  | { type: "file"; source: Extract<MediaSource, { kind: "base64" }>; filename?: string };

/** Input modalities, as catalogs (`input_modalities`), policy input and records name them. */
export type Modality = "text" | "image" | "audio" | "file";

export interface UpstreamMessage {
  role: string;
  /** Plain text, or parts (text, image, audio, file) in order. */
  content: string | readonly ContentPart[];
  name?: string;
  /** An assistant turn's refusal text (OpenAI's `refusal`), when the caller replays one. */
  refusal?: string;
  tool_call_id?: string;
  tool_calls?: { id: string; type: "function"; function: { name: string; arguments: string } }[];
}

export interface UpstreamTool {
  type: "function";
  /** `strict`: the arguments must match `parameters` exactly (Structured Outputs for tools). */
  function: { name: string; description?: string; parameters?: unknown; strict?: boolean };
}

export interface UpstreamRequest {
  /** The model name the upstream expects. */
  model: string;
  messages: UpstreamMessage[];
  max_tokens?: number;
  temperature?: number;
  top_p?: number;
  stop?: string[];
  tools?: UpstreamTool[];
  tool_choice?: unknown;
  seed?: number;
  /**
   * The other Chat Completions parameters the request carries and this endpoint takes, by
   * their OpenAI names (`response_format`, `logprobs`, `presence_penalty`, …; see
   * routing/parameters.ts): each adapter translates them for its API or has none of them.
   * `max_tokens` above is the limit; `max_completion_tokens` here only says which name the
   * caller used, for upstreams that tell the two apart.
   */
  params?: Readonly<Record<string, unknown>>;
}

export interface UpstreamTarget {
  /** e.g. https://api.mistral.ai/v1 */
  baseUrl: string;
  apiKey?: string;
}

export interface UpstreamCallOptions {
  signal?: AbortSignal;
  /** Sent upstream as `x-request-id` so a provider-side trace can be matched to a decision. */
  requestId?: string;
  /**
   * W3C `traceparent` of this attempt's span, when tracing is on and this upstream may see it
   * (SOVR_TRACE_PROPAGATE_UPSTREAM; app/tracing.ts decides).
   */
  traceparent?: string;
  connectTimeoutMs: number;
  firstTokenTimeoutMs: number;
  idleTimeoutMs: number;
}

export interface ToolCallDelta {
  index: number;
  id?: string;
  name?: string;
  arguments?: string;
}

export interface Usage {
  promptTokens: number;
  completionTokens: number;
  /** Of promptTokens: read from the provider's prompt cache. */
  cachedPromptTokens?: number;
  /** Of promptTokens: written to the provider's prompt cache (Anthropic reports these). */
  cacheWritePromptTokens?: number;
  /** Of completionTokens: spent on reasoning. */
  reasoningTokens?: number;
  audioPromptTokens?: number;
  audioCompletionTokens?: number;
}

/** One token's log probability, as OpenAI's `logprobs.content[]` carries it (passed through). */
export interface TokenLogprob {
  token: string;
  logprob: number;
  bytes: number[] | null;
  top_logprobs: { token: string; logprob: number; bytes: number[] | null }[];
}

export type UpstreamEvent =
  | {
      type: "delta";
      /** The choice this delta belongs to (`n` > 1); 0 when absent. */
      index?: number;
      role?: string;
      content?: string;
      /** Reasoning text, where the upstream returns it (OpenRouter's `reasoning`). */
      reasoning?: string;
      /** A model's refusal text (OpenAI's `refusal`). */
      refusal?: string;
      toolCalls?: ToolCallDelta[];
      logprobs?: TokenLogprob[];
    }
  | {
      type: "finish";
      /** Choice 0's finish reason. */
      finishReason: string;
      /** Every choice's, when there are several (`n` > 1). */
      choices?: { index: number; finishReason: string }[];
      usage?: Usage;
    };

/** An embeddings call (`/v1/embeddings`): texts in, one vector each out. */
export interface EmbeddingRequest {
  model: string;
  input: readonly string[];
  /** Only with endpoints that declare `dimensions`. */
  dimensions?: number;
  /** The caller's end-user id (OpenAI's `user`), only with endpoints that declare `user`. */
  user?: string;
}

export interface EmbeddingResult {
  /** One vector per input, in input order. */
  vectors: number[][];
  /** As the upstream reported it; absent when it did not (the router then estimates). */
  usage?: { promptTokens: number };
}

/** One wire protocol. Implementations keep connection pools; calls never create clients. */
export interface UpstreamAdapter {
  stream(
    target: UpstreamTarget,
    req: UpstreamRequest,
    opts: UpstreamCallOptions,
  ): AsyncIterable<UpstreamEvent>;
  /** Embeddings, for APIs that have them (absent: the API has none). */
  embed?(target: UpstreamTarget, req: EmbeddingRequest, opts: UpstreamCallOptions): Promise<EmbeddingResult>;
  close(): Promise<void>;
}
