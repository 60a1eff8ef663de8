/**
 * What the router asks of an upstream, independent of wire protocol. Adapters translate this
 * into their provider's API and yield typed events back.
 */
export interface UpstreamMessage {
  role: string;
  content: string;
  name?: string;
  tool_call_id?: string;
  tool_calls?: { id: string; type: "function"; function: { name: string; arguments: string } }[];
}

export interface UpstreamTool {
  type: "function";
  function: { name: string; description?: string; parameters?: unknown };
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
}

export type UpstreamEvent =
  | { type: "delta"; role?: string; content?: string; toolCalls?: ToolCallDelta[] }
  | { type: "finish"; finishReason: string; usage?: Usage };

/** One wire protocol. Implementations keep connection pools; calls never create clients. */
export interface UpstreamAdapter {
  stream(
    target: UpstreamTarget,
    req: UpstreamRequest,
    opts: UpstreamCallOptions,
  ): AsyncIterable<UpstreamEvent>;
  close(): Promise<void>;
}
