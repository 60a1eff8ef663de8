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
  /**
   * Whole request: the HTTP body of the OpenAI-compatible API (413 above this) and the message
   * size on both ports for gRPC/Connect (connect's readMaxBytes: ResourceExhausted, as gRPC
   * implementations answer an oversized message; 413 for a declared Connect body on HTTP/1.1).
   */
  requestBytes: 8 << 20,
} as const;

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
}
