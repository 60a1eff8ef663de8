import { toAnthropicBody } from "./anthropic-body.js";
import { endpointUrl } from "./endpoint-url.js";
import { classifyStatus, UpstreamError } from "./errors.js";
import { type PoolSet, postJson, toUpstreamError } from "./http-call.js";
import { sseBatches } from "./sse.js";
import type {
  UpstreamAdapter,
  UpstreamCallOptions,
  UpstreamEvent,
  UpstreamRequest,
  UpstreamTarget,
  Usage,
} from "./types.js";

const API_VERSION = "2023-06-01";

/** Anthropic `stop_reason` → OpenAI `finish_reason` (what our callers see). */
const FINISH: Record<string, string> = {
  end_turn: "stop",
  stop_sequence: "stop",
  max_tokens: "length",
  tool_use: "tool_calls",
  pause_turn: "stop",
  refusal: "content_filter",
};

interface AnthropicUsage {
  input_tokens?: number | null;
  output_tokens?: number | null;
  cache_read_input_tokens?: number | null;
  cache_creation_input_tokens?: number | null;
  output_tokens_details?: { thinking_tokens?: number } | null;
}

/**
 * Anthropic's usage → ours. Anthropic's `input_tokens` leaves out the tokens read from and
 * written to the prompt cache; our `promptTokens` counts every prompt token, and says how many
 * of them were cached and cache writes.
 */
export function usageOf(u: AnthropicUsage, into: Usage): void {
  const read = u.cache_read_input_tokens ?? undefined;
  const write = u.cache_creation_input_tokens ?? undefined;
  if (typeof u.input_tokens === "number") into.promptTokens = u.input_tokens + (read ?? 0) + (write ?? 0);
  if (read !== undefined) into.cachedPromptTokens = read;
  if (write !== undefined) into.cacheWritePromptTokens = write;
  if (typeof u.output_tokens === "number") into.completionTokens = u.output_tokens;
  const thinking = u.output_tokens_details?.thinking_tokens;
  if (typeof thinking === "number") into.reasoningTokens = thinking;
}

interface StreamEvent {
  type: string;
  index?: number;
  message?: { usage?: AnthropicUsage };
  content_block?: { type: string; id?: string; name?: string };
  delta?: {
    type?: string;
    text?: string;
    thinking?: string;
    partial_json?: string;
    stop_reason?: string | null;
  };
  usage?: AnthropicUsage;
  error?: { type?: string };
}

/** Anthropic's in-stream `error` event types → our classes (overloaded = their 529). */
function streamErrorClass(type: string | undefined): UpstreamError {
  const status = type === "overloaded_error" ? 529 : type === "rate_limit_error" ? 429 : 500;
  return new UpstreamError(classifyStatus(status), `upstream stream error (${type ?? "unknown"})`, status);
}

/**
 * The Anthropic Messages API (https://docs.anthropic.com/en/api/messages), streaming events
 * `message_start` → `content_block_*` → `message_delta` → `message_stop`, mapped onto the same
 * typed events as the OpenAI adapter. Reuses the pools, timeouts and SSE parser.
 */
export class AnthropicAdapter implements UpstreamAdapter {
  constructor(private readonly pools: PoolSet) {}

  #headers(target: UpstreamTarget, opts: UpstreamCallOptions): Record<string, string> {
    const h: Record<string, string> = { "anthropic-version": API_VERSION };
    if (target.apiKey) h["x-api-key"] = target.apiKey;
    if (opts.requestId) h["x-request-id"] = opts.requestId;
    if (opts.traceparent) h.traceparent = opts.traceparent;
    return h;
  }

  #url(target: UpstreamTarget): URL {
    return endpointUrl(target.baseUrl, "messages");
  }

  async *stream(
    target: UpstreamTarget,
    req: UpstreamRequest,
    opts: UpstreamCallOptions,
  ): AsyncGenerator<UpstreamEvent> {
    const payload = JSON.stringify(toAnthropicBody(req, true));
    const res = await postJson(
      this.pools,
      this.#url(target),
      { ...this.#headers(target, opts), accept: "text/event-stream" },
      payload,
      opts,
    );
    const usage: Usage = { promptTokens: 0, completionTokens: 0 };
    let finishReason: string | undefined;
    /** Content block index → OpenAI tool-call index, for tool_use blocks. */
    const toolIndex = new Map<number, number>();
    let sawContent = false;
    let stopped = false;
    try {
      read: for await (const events of sseBatches(res.body)) {
        for (const sse of events) {
          res.touch();
          let ev: StreamEvent;
          try {
            ev = JSON.parse(sse.data) as StreamEvent;
          } catch {
            throw new UpstreamError("protocol", "upstream sent an unparseable event");
          }
          if (ev.type === "error") throw streamErrorClass(ev.error?.type);
          if (ev.type === "message_start") {
            usageOf(ev.message?.usage ?? {}, usage);
            yield { type: "delta", role: "assistant" };
          } else if (ev.type === "content_block_start" && ev.content_block?.type === "tool_use") {
            const index = toolIndex.size;
            toolIndex.set(ev.index ?? 0, index);
            if (!sawContent) res.gotFirstToken();
            sawContent = true;
            yield {
              type: "delta",
              toolCalls: [{ index, id: ev.content_block.id, name: ev.content_block.name, arguments: "" }],
            };
          } else if (ev.type === "content_block_delta") {
            const d = ev.delta;
            if (!sawContent) res.gotFirstToken();
            sawContent = true;
            if (d?.type === "text_delta" && d.text) yield { type: "delta", content: d.text };
            else if (d?.type === "thinking_delta" && d.thinking)
              yield { type: "delta", reasoning: d.thinking };
            else if (d?.type === "input_json_delta" && d.partial_json) {
              yield {
                type: "delta",
                toolCalls: [{ index: toolIndex.get(ev.index ?? 0) ?? 0, arguments: d.partial_json }],
              };
            }
          } else if (ev.type === "message_delta") {
            if (ev.delta?.stop_reason) finishReason = FINISH[ev.delta.stop_reason] ?? "stop";
            // Cumulative: the latest counts replace the earlier ones.
            if (ev.usage) usageOf(ev.usage, usage);
          } else if (ev.type === "message_stop") {
            stopped = true;
            break read;
          }
        }
      }
    } catch (err) {
      throw toUpstreamError(err, undefined, opts.signal);
    } finally {
      res.release(stopped);
    }
    if (!stopped || !finishReason)
      throw new UpstreamError("stream_broken", "upstream stream ended without message_stop");
    yield { type: "finish", finishReason, usage };
  }

  async close(): Promise<void> {}
}
