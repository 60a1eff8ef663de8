import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import type { AddressInfo } from "node:net";

/**
 * A fake provider on 127.0.0.1 (port 0) that records every request it receives (path, headers,
 * parsed JSON body) and answers in the Anthropic Messages API's event stream
 * (`POST …/messages`, https://docs.anthropic.com/en/docs/build-with-claude/streaming), so tests
 * can assert what the router sent upstream, field by field, and that refused fields never left.
 * For the tests that route one Messages API request to either upstream API, it also answers
 * `POST …/chat/completions` with the same reply as an OpenAI Chat Completions stream.
 *
 * The reply is {@link RecordedReply}: text by default; a tool call when the request forces one
 * (Anthropic `tool_choice` any/tool, OpenAI `required`/named) or when the reply says so.
 */
export interface RecordedReply {
  text?: string;
  thinking?: string;
  /** A tool call (name, input object). */
  toolUse?: { name: string; input: unknown };
  usage?: { input: number; output: number; cacheRead?: number; cacheWrite?: number };
}

export interface RecordedRequest {
  path: string;
  headers: IncomingHttpHeaders;
  body: Record<string, unknown>;
}

export interface RecordingUpstream {
  /** `http://127.0.0.1:<port>` */
  readonly url: string;
  readonly requests: RecordedRequest[];
  /** The reply to the next requests (until changed). */
  replyWith(r: RecordedReply): void;
  close(): Promise<void>;
}

const DEFAULT: RecordedReply = { text: "Hello from the fake upstream.", usage: { input: 21, output: 7 } };

function forcesTool(body: Record<string, unknown>): string | undefined {
  const tools = body.tools as { name?: string; function?: { name?: string } }[] | undefined;
  const choice = body.tool_choice as { type?: string; name?: string; function?: { name?: string } } | string;
  if (!tools?.length || choice === undefined) return undefined;
  const first = tools[0]!.name ?? tools[0]!.function?.name;
  if (choice === "required" || (typeof choice === "object" && choice.type === "any")) return first;
  if (typeof choice === "object") return choice.name ?? choice.function?.name;
  return undefined;
}

function anthropicStream(r: RecordedReply, model: string): string {
  const ev = (type: string, data: object) => `event: ${type}\ndata: ${JSON.stringify({ type, ...data })}\n\n`;
  const u = r.usage ?? DEFAULT.usage!;
  let out = ev("message_start", {
    message: {
      id: "msg_fake",
      type: "message",
      role: "assistant",
      model,
      content: [],
      stop_reason: null,
      stop_sequence: null,
      usage: {
        input_tokens: u.input,
        output_tokens: 1,
        cache_read_input_tokens: u.cacheRead ?? 0,
        cache_creation_input_tokens: u.cacheWrite ?? 0,
      },
    },
  });
  let index = 0;
  if (r.thinking) {
    out += ev("content_block_start", {
      index,
      content_block: { type: "thinking", thinking: "", signature: "" },
    });
    out += ev("content_block_delta", { index, delta: { type: "thinking_delta", thinking: r.thinking } });
    out += ev("content_block_delta", { index, delta: { type: "signature_delta", signature: "c2ln" } });
    out += ev("content_block_stop", { index: index++ });
  }
  if (r.text) {
    out += ev("content_block_start", { index, content_block: { type: "text", text: "" } });
    // Two pieces, split mid-word, as a provider streams.
    const cut = Math.ceil(r.text.length / 2);
    out += ev("content_block_delta", { index, delta: { type: "text_delta", text: r.text.slice(0, cut) } });
    out += ev("content_block_delta", { index, delta: { type: "text_delta", text: r.text.slice(cut) } });
    out += ev("content_block_stop", { index: index++ });
  }
  if (r.toolUse) {
    out += ev("content_block_start", {
      index,
      content_block: { type: "tool_use", id: "toolu_fake1", name: r.toolUse.name, input: {} },
    });
    const json = JSON.stringify(r.toolUse.input);
    out += ev("content_block_delta", {
      index,
      delta: { type: "input_json_delta", partial_json: json.slice(0, 3) },
    });
    out += ev("content_block_delta", {
      index,
      delta: { type: "input_json_delta", partial_json: json.slice(3) },
    });
    out += ev("content_block_stop", { index: index++ });
  }
  out += ev("message_delta", {
    delta: { stop_reason: r.toolUse ? "tool_use" : "end_turn", stop_sequence: null },
    usage: { output_tokens: u.output },
  });
  return out + ev("message_stop", {});
}

function openaiStream(r: RecordedReply, model: string): string {
  const u = r.usage ?? DEFAULT.usage!;
  const chunk = (choices: unknown[], extra: object = {}) =>
    `data: ${JSON.stringify({ id: "chatcmpl-fake", object: "chat.completion.chunk", created: 0, model, choices, ...extra })}\n\n`;
  let out = chunk([{ index: 0, delta: { role: "assistant", content: r.text ?? "" }, finish_reason: null }]);
  if (r.toolUse) {
    const call = {
      index: 0,
      id: "call_fake1",
      type: "function",
      function: { name: r.toolUse.name, arguments: JSON.stringify(r.toolUse.input) },
    };
    out += chunk([{ index: 0, delta: { tool_calls: [call] }, finish_reason: null }]);
  }
  out += chunk([{ index: 0, delta: {}, finish_reason: r.toolUse ? "tool_calls" : "stop" }]);
  out += chunk([], {
    usage: {
      prompt_tokens: u.input + (u.cacheRead ?? 0),
      completion_tokens: u.output,
      total_tokens: u.input + (u.cacheRead ?? 0) + u.output,
      prompt_tokens_details: { cached_tokens: u.cacheRead ?? 0 },
    },
  });
  return `${out}data: [DONE]\n\n`;
}

export async function startRecordingAnthropicUpstream(): Promise<RecordingUpstream> {
  const requests: RecordedRequest[] = [];
  let reply: RecordedReply = DEFAULT;
  const server: Server = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const text = Buffer.concat(chunks).toString("utf8");
    const body = (text ? JSON.parse(text) : {}) as Record<string, unknown>;
    const path = req.url ?? "";
    requests.push({ path, headers: req.headers, body });
    const model = String(body.model ?? "");
    const forced = forcesTool(body);
    const r =
      forced && !reply.toolUse
        ? { ...reply, text: undefined, toolUse: { name: forced, input: { city: "Zürich" } } }
        : reply;
    if (req.method !== "POST" || !/\/(messages|chat\/completions)$/.test(path)) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { "content-type": "text/event-stream" });
    res.end(path.endsWith("/messages") ? anthropicStream(r, model) : openaiStream(r, model));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    replyWith: (r) => {
      reply = r;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
