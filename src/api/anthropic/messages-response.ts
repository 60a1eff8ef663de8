import type { ServerResponse } from "node:http";
import type { RouterEvent } from "../../routing/index.js";
import { writeText } from "../openai/index.js";
import type { AnthropicError } from "./messages-errors.js";

/**
 * Router events → an Anthropic Message (https://docs.anthropic.com/en/api/messages), whole or as
 * its event stream (https://docs.anthropic.com/en/docs/build-with-claude/streaming):
 * `message_start`, `ping`, per content block `content_block_start` / `content_block_delta`
 * (`text_delta`, `thinking_delta`, `input_json_delta`) / `content_block_stop`, then
 * `message_delta` (stop reason, usage) and `message_stop`. A block opens when the kind of delta
 * changes (reasoning → thinking, content → text, each tool call → tool_use), as the provider's
 * stream does.
 */

type RouteEvent = Extract<RouterEvent, { type: "route" }>;
type FinishEvent = Extract<RouterEvent, { type: "finish" }>;
type DeltaEvent = Extract<RouterEvent, { type: "delta" }>;

/** Our (OpenAI) finish reason → Anthropic's `stop_reason`. */
const STOP_REASON: Record<string, string> = {
  stop: "end_turn",
  length: "max_tokens",
  tool_calls: "tool_use",
  content_filter: "refusal",
};

export function stopReason(finish: string): string {
  return STOP_REASON[finish] ?? "end_turn";
}

export function messageId(route: RouteEvent): string {
  return `msg_${route.decisionId.replaceAll("-", "")}`;
}

/** Anthropic's usage: `input_tokens` leaves out the prompt tokens read from or written to a cache. */
export function usageJson(u: FinishEvent["usage"]) {
  const read = u.cachedPromptTokens ?? 0;
  const write = u.cacheWritePromptTokens ?? 0;
  return {
    input_tokens: Math.max(0, u.promptTokens - read - write),
    output_tokens: u.completionTokens,
    cache_read_input_tokens: read,
    cache_creation_input_tokens: write,
  };
}

type Block =
  | { type: "text"; text: string }
  | { type: "thinking"; thinking: string; signature: string }
  | { type: "tool_use"; id: string; name: string; input: unknown; json: string };

/**
 * Assembles content blocks from deltas, in order; {@link onEvent} (when streaming) is told of
 * each block start, delta and stop as they happen.
 */
class BlockAssembler {
  readonly blocks: Block[] = [];
  #open: number | undefined;
  readonly #tools = new Map<number, number>();

  constructor(private readonly onEvent?: (type: string, data: object) => Promise<void>) {}

  async #start(block: Block): Promise<number> {
    await this.stop();
    this.blocks.push(block);
    const index = this.blocks.length - 1;
    this.#open = index;
    const { json: _json, ...wire } = block as Block & { json?: string };
    await this.onEvent?.("content_block_start", {
      index,
      content_block: block.type === "tool_use" ? { ...wire, input: {} } : { ...wire },
    });
    return index;
  }

  async stop(): Promise<void> {
    if (this.#open === undefined) return;
    const index = this.#open;
    this.#open = undefined;
    await this.onEvent?.("content_block_stop", { index });
  }

  async add(ev: DeltaEvent): Promise<void> {
    if (ev.reasoning) {
      let i = this.#open;
      if (i === undefined || this.blocks[i]!.type !== "thinking")
        i = await this.#start({ type: "thinking", thinking: "", signature: "" });
      (this.blocks[i] as { thinking: string }).thinking += ev.reasoning;
      await this.onEvent?.("content_block_delta", {
        index: i,
        delta: { type: "thinking_delta", thinking: ev.reasoning },
      });
    }
    // A refusal is the model's answer text (OpenAI carries it apart; Anthropic as text).
    const text = (ev.content ?? "") + (ev.refusal ?? "");
    if (text) {
      let i = this.#open;
      if (i === undefined || this.blocks[i]!.type !== "text")
        i = await this.#start({ type: "text", text: "" });
      (this.blocks[i] as { text: string }).text += text;
      await this.onEvent?.("content_block_delta", { index: i, delta: { type: "text_delta", text } });
    }
    for (const t of ev.toolCalls ?? []) {
      let i = this.#tools.get(t.index);
      if (i === undefined) {
        i = await this.#start({ type: "tool_use", id: t.id ?? "", name: t.name ?? "", input: {}, json: "" });
        this.#tools.set(t.index, i);
      }
      if (t.arguments) {
        (this.blocks[i] as { json: string }).json += t.arguments;
        await this.onEvent?.("content_block_delta", {
          index: i,
          delta: { type: "input_json_delta", partial_json: t.arguments },
        });
      }
    }
  }

  /** The blocks as a Message's `content`: tool inputs parsed from their JSON text. */
  content(): unknown[] {
    return this.blocks.map((b) => {
      if (b.type !== "tool_use") return b;
      const { json, ...rest } = b;
      return { ...rest, input: parseInput(json) };
    });
  }
}

function parseInput(json: string): unknown {
  if (!json.trim()) return {};
  try {
    return JSON.parse(json);
  } catch {
    // The model's arguments were not JSON: handed on as the text they are (as the stream does).
    return json;
  }
}

function messageJson(route: RouteEvent, content: unknown[], stop: string | null, usage: object) {
  return {
    id: messageId(route),
    type: "message",
    role: "assistant",
    model: route.endpoint.model,
    content,
    stop_reason: stop,
    stop_sequence: null,
    usage,
  };
}

/** The whole Message, once the router's stream has ended. */
export async function wholeMessage(
  events: AsyncIterable<RouterEvent>,
): Promise<{ route: RouteEvent; body: unknown }> {
  let route: RouteEvent | undefined;
  let finish: FinishEvent | undefined;
  const blocks = new BlockAssembler();
  for await (const ev of events) {
    if (ev.type === "route") route = ev;
    else if (ev.type === "delta") await blocks.add(ev);
    else finish = ev;
  }
  if (!route || !finish) throw new Error("router stream ended without a route and a finish");
  return {
    route,
    body: messageJson(route, blocks.content(), stopReason(finish.finishReason), usageJson(finish.usage)),
  };
}

/**
 * The Message as Anthropic's event stream. Headers wait for the route (the first token): until
 * then an error is an ordinary error response; after it, an `error` event ends the stream.
 */
export async function streamMessage(
  res: ServerResponse,
  events: AsyncGenerator<RouterEvent>,
  opts: { headers(route: RouteEvent): Record<string, string>; toError(err: unknown): AnthropicError },
): Promise<AnthropicError | undefined> {
  const send = (type: string, data: object) =>
    writeText(res, `event: ${type}\ndata: ${JSON.stringify({ type, ...data })}\n\n`);
  const blocks = new BlockAssembler(send);
  try {
    for await (const ev of events) {
      if (res.destroyed) break;
      if (ev.type === "route") {
        res.writeHead(200, {
          "content-type": "text/event-stream",
          "cache-control": "no-cache",
          ...opts.headers(ev),
        });
        const usage = { input_tokens: 0, output_tokens: 0 };
        await send("message_start", { message: messageJson(ev, [], null, usage) });
        await send("ping", {});
      } else if (ev.type === "delta") await blocks.add(ev);
      else {
        await blocks.stop();
        await send("message_delta", {
          delta: { stop_reason: stopReason(ev.finishReason), stop_sequence: null },
          usage: usageJson(ev.usage),
        });
        await send("message_stop", {});
      }
    }
    if (!res.destroyed) res.end();
    return undefined;
  } catch (err) {
    const e = opts.toError(err);
    if (!res.headersSent) return e;
    // Mid-stream: the 200 is already sent; the error travels as Anthropic's `error` event.
    if (!res.destroyed) res.end(`event: error\ndata: ${JSON.stringify(e.body)}\n\n`);
    return undefined;
  } finally {
    await events.return(undefined);
  }
}
