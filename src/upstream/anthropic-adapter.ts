import { classifyStatus, UpstreamError } from "./errors.js";
import { type PoolSet, postJson, toUpstreamError } from "./http-call.js";
import { parseSse } from "./sse.js";
import type {
  UpstreamAdapter,
  UpstreamCallOptions,
  UpstreamEvent,
  UpstreamMessage,
  UpstreamRequest,
  UpstreamTarget,
  Usage,
} from "./types.js";

/** The Messages API requires `max_tokens`; this is used when the caller set none. */
const DEFAULT_MAX_TOKENS = 4096;
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

type Block =
  | { type: "text"; text: string }
  | { type: "tool_use"; id: string; name: string; input: unknown }
  | { type: "tool_result"; tool_use_id: string; content: string };

/**
 * Our (OpenAI-shaped) request as a Messages API body: system and developer messages become the
 * top-level `system`, tool results become `tool_result` blocks of a user turn, assistant tool
 * calls `tool_use` blocks, and tools carry their JSON Schema as `input_schema`.
 */
export function toAnthropicBody(req: UpstreamRequest, stream: boolean): Record<string, unknown> {
  const system = req.messages
    .filter((m) => m.role === "system" || m.role === "developer")
    .map((m) => textOf(m.content))
    .join("\n\n");
  const messages: { role: "user" | "assistant"; content: Block[] }[] = [];
  const push = (role: "user" | "assistant", blocks: Block[]) => {
    const last = messages[messages.length - 1];
    // The API wants user and assistant turns to alternate: consecutive turns are merged.
    if (last?.role === role) last.content.push(...blocks);
    else messages.push({ role, content: blocks });
  };
  for (const m of req.messages) push(...toTurn(m));
  const body: Record<string, unknown> = {
    model: req.model,
    max_tokens: req.max_tokens ?? DEFAULT_MAX_TOKENS,
    messages: messages.filter((m) => m.content.length > 0),
    stream,
  };
  if (system) body.system = system;
  if (req.temperature !== undefined) body.temperature = Math.min(req.temperature, 1); // Anthropic's range is 0..1
  if (req.top_p !== undefined) body.top_p = req.top_p;
  if (req.stop?.length) body.stop_sequences = req.stop;
  if (req.tools?.length) {
    body.tools = req.tools.map((t) => ({
      name: t.function.name,
      description: t.function.description,
      input_schema: t.function.parameters ?? { type: "object", properties: {} },
    }));
  }
  const choice = toolChoice(req.tool_choice);
  if (choice) body.tool_choice = choice;
  return body;
}

function toTurn(m: UpstreamMessage): ["user" | "assistant", Block[]] {
  if (m.role === "system" || m.role === "developer") return ["user", []];
  if (m.role === "tool")
    return ["user", [{ type: "tool_result", tool_use_id: m.tool_call_id ?? "", content: textOf(m.content) }]];
  if (m.role === "assistant") {
    const text = textOf(m.content);
    const blocks: Block[] = text ? [{ type: "text", text }] : [];
    for (const t of m.tool_calls ?? []) {
      blocks.push({
        type: "tool_use",
        id: t.id,
        name: t.function.name,
        input: safeJson(t.function.arguments),
      });
    }
    return ["assistant", blocks];
  }
  return ["user", [{ type: "text", text: textOf(m.content) }]];
}

/** Text content; the filters keep parts of other modalities from an endpoint without them. */
function textOf(content: UpstreamMessage["content"]): string {
  if (typeof content === "string") return content;
  return content
    .map((p) => {
      if (p.type !== "text") throw new UpstreamError("client", `this adapter cannot send ${p.type} parts`);
      return p.text;
    })
    .join("");
}

function toolChoice(choice: unknown): unknown {
  if (choice === undefined || choice === "auto") return choice === "auto" ? { type: "auto" } : undefined;
  if (choice === "required") return { type: "any" };
  if (choice === "none") return { type: "none" };
  const name = (choice as { function?: { name?: string } } | null)?.function?.name;
  return name ? { type: "tool", name } : undefined;
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return {};
  }
}

interface StreamEvent {
  type: string;
  index?: number;
  message?: { usage?: { input_tokens?: number } };
  content_block?: { type: string; id?: string; name?: string };
  delta?: { type?: string; text?: string; partial_json?: string; stop_reason?: string | null };
  usage?: { output_tokens?: number };
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
    return h;
  }

  #url(target: UpstreamTarget): URL {
    return new URL(`${target.baseUrl.replace(/\/$/, "")}/messages`);
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
      for await (const sse of parseSse(res.body)) {
        res.touch();
        let ev: StreamEvent;
        try {
          ev = JSON.parse(sse.data) as StreamEvent;
        } catch {
          throw new UpstreamError("protocol", "upstream sent an unparseable event");
        }
        if (ev.type === "error") throw streamErrorClass(ev.error?.type);
        if (ev.type === "message_start") {
          usage.promptTokens = ev.message?.usage?.input_tokens ?? 0;
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
          else if (d?.type === "input_json_delta" && d.partial_json) {
            yield {
              type: "delta",
              toolCalls: [{ index: toolIndex.get(ev.index ?? 0) ?? 0, arguments: d.partial_json }],
            };
          }
        } else if (ev.type === "message_delta") {
          if (ev.delta?.stop_reason) finishReason = FINISH[ev.delta.stop_reason] ?? "stop";
          if (ev.usage?.output_tokens !== undefined) usage.completionTokens = ev.usage.output_tokens;
        } else if (ev.type === "message_stop") {
          stopped = true;
          break;
        }
      }
    } catch (err) {
      throw toUpstreamError(err, undefined, opts.signal);
    } finally {
      res.done();
      res.body.destroy();
    }
    if (!stopped || !finishReason)
      throw new UpstreamError("stream_broken", "upstream stream ended without message_stop");
    yield { type: "finish", finishReason, usage };
  }

  async close(): Promise<void> {}
}
