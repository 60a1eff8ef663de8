// Server-wide limits: what one request may carry, and how many a key or tenant may make.

/**
 * Input limits, declared once and enforced on both APIs (gRPC/Connect and OpenAI-compatible
 * HTTP). A violation is InvalidArgument / HTTP 400 naming the field.
 */
export const LIMITS = {
  modelLength: 256,
  models: 16,
  messages: 1024,
  contentBytes: 1 << 20,
  totalContentBytes: 4 << 20,
  nameLength: 256,
  maxTokens: 1_000_000,
  stop: 4,
  stopLength: 256,
  tools: 128,
  toolSchemaBytes: 64 << 10,
  /** Nesting of free-form JSON (tool schemas, tool_choice): real schemas stay under ~20. */
  jsonDepth: 64,
  /** Tool calls carried by one (assistant) message, and their arguments' size. */
  toolCalls: 128,
  toolArgumentsBytes: 64 << 10,
  /** Ids and tool descriptions. */
  idLength: 256,
  descriptionLength: 4096,
  /** Embeddings: inputs per request (OpenAI's limit; each input within contentBytes, all within totalContentBytes) and vector length. */
  embeddingInputs: 2048,
  embeddingDimensions: 16384,
  labels: 32,
  labelKeyLength: 64,
  labelValueLength: 256,
  preferenceList: 64,
  slugLength: 128,
  /** Choices one request may ask for (`n`). */
  choices: 16,
  /** An image given by URL (https only; the upstream fetches it, never the router). */
  urlLength: 8192,
  /** Free-form values of the other parameters (`logit_bias`, a JSON schema, a pass-through value). */
  paramBytes: 64 << 10,
  logitBias: 1024,
  /**
   * Whole request: the message size on both ports for gRPC/Connect (connect's readMaxBytes:
   * ResourceExhausted, as gRPC implementations answer an oversized message; 413 for a declared
   * Connect body on HTTP/1.1). The OpenAI-compatible HTTP API has its own, configurable limit
   * sized for multimodal bodies ({@link RequestLimits}).
   */
  requestBytes: 8 << 20,
} as const;

/**
 * Limits sized for multimodal requests, configurable (src/config/config.ts): the HTTP body of
 * the OpenAI-compatible API (413 above it) and each inline image, audio clip and file (decoded
 * bytes; 400 naming the part above it). Text keeps the fixed limits of {@link LIMITS}.
 */
export interface RequestLimits {
  /** `SOVR_MAX_REQUEST_BYTES`: the whole HTTP body. */
  readonly requestBytes: number;
  /** `SOVR_MAX_IMAGE_BYTES`: one inline image (a data URL's bytes). */
  readonly imageBytes: number;
  /** `SOVR_MAX_AUDIO_BYTES`: one `input_audio` part. */
  readonly audioBytes: number;
  /** `SOVR_MAX_FILE_BYTES`: one file part (a PDF, …). */
  readonly fileBytes: number;
}

/** The defaults: 32 MiB bodies (base64 inflates media by a third), 20 MiB per image, audio or file. */
export const DEFAULT_REQUEST_LIMITS: RequestLimits = Object.freeze({
  requestBytes: 32 << 20,
  imageBytes: 20 << 20,
  audioBytes: 20 << 20,
  fileBytes: 20 << 20,
});

/** Limits per API key and per tenant; a 0 switches that limit off. */
export interface RateLimitSettings {
  /** Sustained requests per second per key, and the bucket size (burst). */
  readonly keyRps: number;
  readonly keyBurst: number;
  readonly tenantRps: number;
  readonly tenantBurst: number;
  /** Calls in flight at once (streams count until they end). */
  readonly maxConcurrentPerKey: number;
  readonly maxConcurrentPerTenant: number;
  /** Tokens (input + output) per minute per key and per tenant; 0 or absent = no limit. */
  readonly keyTpm?: number;
  readonly tenantTpm?: number;
  /** The output part of a call's token estimate when it sets no max_tokens. */
  readonly defaultMaxTokens?: number;
  /**
   * `replica` (default): every replica counts alone. `cluster`: request and token counts are
   * shared through the database in fixed windows of `windowMs`, leased `leasePercent` of a
   * window's limit at a time (src/api/transport/leased-windows.ts, docs/security.md).
   */
  readonly scope?: "replica" | "cluster";
  readonly windowMs?: number;
  readonly leasePercent?: number;
}
