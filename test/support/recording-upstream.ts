import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import type { AddressInfo, Socket } from "node:net";

/**
 * A fake OpenAI-compatible provider for app-booting tests: a real HTTP server on 127.0.0.1,
 * port 0, that records every request body it receives and answers `POST …/chat/completions`
 * with a Chat Completions SSE stream built from a per-test {@link Script} (content, reasoning,
 * refusal, tool calls and logprobs per choice, usage with details). The path prefix before
 * `/v1/` names the endpoint (`/rec-full/v1/…`), so a catalog can point several endpoints at it
 * and a test can see which one was called.
 */
export interface ScriptChoice {
  content?: string;
  reasoning?: string;
  refusal?: string;
  toolCalls?: { id: string; name: string; arguments: string }[];
  /** One entry per content piece (the content is sent in two pieces when there are two). */
  logprobs?: { token: string; logprob: number; bytes: number[] | null; top_logprobs: unknown[] }[];
  finishReason?: string;
}

export interface Script {
  /** One per choice (`n`); default: one choice answering "ok". */
  choices?: ScriptChoice[];
  /** OpenAI's usage object, sent in the last chunk as `stream_options.include_usage` asks. */
  usage?: Record<string, unknown>;
  /** An HTTP error status instead of a stream. */
  status?: number;
}

export interface RecordedRequest {
  /** The endpoint: the path's first segment (`rec-full`). */
  endpoint: string;
  path: string;
  headers: IncomingHttpHeaders;
  body: Record<string, unknown>;
}

export interface RecordingUpstream {
  /** `http://127.0.0.1:<port>` */
  readonly url: string;
  readonly requests: RecordedRequest[];
  /** The script of the next request (else the default). */
  reply(script: Script): void;
  /** Forgets recorded requests and queued scripts. */
  reset(): void;
  close(): Promise<void>;
}

/** The SSE body of `script`, chunk by chunk as OpenAI streams it. */
export function sseOf(script: Script, model: string): string {
  const choices = script.choices ?? [{ content: "ok" }];
  const chunks: unknown[] = [];
  const chunk = (choice: Record<string, unknown>) => ({
    id: "chatcmpl-rec",
    object: "chat.completion.chunk",
    created: 1,
    model,
    choices: [{ logprobs: null, finish_reason: null, ...choice }],
    usage: null,
  });
  choices.forEach((c, index) => {
    chunks.push(chunk({ index, delta: { role: "assistant", content: "" } }));
    if (c.reasoning) chunks.push(chunk({ index, delta: { reasoning: c.reasoning } }));
    if (c.refusal) chunks.push(chunk({ index, delta: { refusal: c.refusal } }));
    const text = c.content ?? "";
    const cut = c.logprobs && c.logprobs.length >= 2 ? Math.ceil(text.length / 2) : text.length;
    const pieces = [text.slice(0, cut), text.slice(cut)].filter((p) => p.length > 0);
    pieces.forEach((piece, i) =>
      chunks.push(
        chunk({
          index,
          delta: { content: piece },
          logprobs: c.logprobs ? { content: c.logprobs.slice(i, i + 1), refusal: null } : null,
        }),
      ),
    );
    (c.toolCalls ?? []).forEach((t, i) => {
      chunks.push(
        chunk({
          index,
          delta: {
            tool_calls: [{ index: i, id: t.id, type: "function", function: { name: t.name, arguments: "" } }],
          },
        }),
      );
      chunks.push(
        chunk({ index, delta: { tool_calls: [{ index: i, function: { arguments: t.arguments } }] } }),
      );
    });
    chunks.push(
      chunk({
        index,
        delta: {},
        finish_reason: c.finishReason ?? (c.toolCalls?.length ? "tool_calls" : "stop"),
      }),
    );
  });
  chunks.push({
    id: "chatcmpl-rec",
    object: "chat.completion.chunk",
    created: 1,
    model,
    choices: [],
    usage: script.usage ?? { prompt_tokens: 10, completion_tokens: 2, total_tokens: 12 },
  });
  return `${chunks.map((c) => `data: ${JSON.stringify(c)}\n\n`).join("")}data: [DONE]\n\n`;
}

export async function startRecordingUpstream(): Promise<RecordingUpstream> {
  const queue: Script[] = [];
  const requests: RecordedRequest[] = [];
  const sockets = new Set<Socket>();
  const server: Server = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const path = req.url ?? "";
    const m = /^\/([^/]+)\/v1\/chat\/completions$/.exec(path);
    if (req.method !== "POST" || !m) {
      res.writeHead(404).end();
      return;
    }
    const body = JSON.parse(Buffer.concat(chunks).toString("utf8")) as Record<string, unknown>;
    requests.push({ endpoint: m[1]!, path, headers: req.headers, body });
    const script = queue.shift() ?? {};
    if (script.status) {
      res.writeHead(script.status, { "content-type": "application/json" });
      res.end(JSON.stringify({ error: { message: "scripted error", type: "invalid_request_error" } }));
      return;
    }
    res.writeHead(200, { "content-type": "text/event-stream" });
    res.end(sseOf(script, String(body.model)));
  });
  server.on("connection", (s) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    reply: (s) => queue.push(s),
    reset: () => {
      requests.length = 0;
      queue.length = 0;
    },
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
