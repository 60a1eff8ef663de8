import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo, Socket } from "node:net";

/**
 * The built-in upstream simulator: an OpenAI-compatible `/v1/chat/completions` server on
 * 127.0.0.1, streaming with SSE. `sovr serve` starts it in the default configuration; tests and
 * benchmarks start their own. Any path prefix before `/v1/` names an *instance*
 * (`/sim-eu/v1/chat/completions` → "sim-eu") whose behaviour can be set on its own, so one
 * simulator stands in for several providers with different latencies and faults.
 *
 * It never logs or keeps message content: only counts.
 */
export type Fault =
  | { kind: "status"; status: number; retryAfterSeconds?: number }
  /** Destroy the socket before any response. */
  | { kind: "reset" }
  /** Stream this many content chunks, then destroy the socket. */
  | { kind: "abort_after"; chunks: number }
  /** Accept the request and never answer. */
  | { kind: "hang" };

export interface Behaviour {
  /** Delay before the first chunk (streaming) or the response (non-streaming). */
  ttftMs: number;
  /** Chunks per second after the first; 0 = as fast as possible. */
  tokensPerSecond: number;
  /** Completion length in chunks (capped by the request's max_tokens). */
  completionTokens: number;
  fault?: Fault;
  /** Fraction 0..1 of requests that get `fault` (default 1 when a fault is set). */
  faultRate?: number;
}

export interface InstanceStats {
  requests: number;
  completed: number;
  /** Streams the client abandoned before the end. */
  aborted: number;
  faults: number;
  /** `x-request-id` of every request received, in order (decision ids, never content). */
  requestIds: string[];
}

export interface Simulator {
  readonly url: string;
  readonly port: number;
  setBehaviour(instance: string, behaviour: Partial<Behaviour>): void;
  resetBehaviour(): void;
  stats(instance: string): InstanceStats;
  close(): Promise<void>;
}

export interface SimulatorOptions {
  host?: string;
  port?: number;
  defaults?: Partial<Behaviour>;
}

const WORDS = "the quick brown fox jumps over a lazy dog while the router keeps every record".split(" ");
const DEFAULTS: Behaviour = { ttftMs: 0, tokensPerSecond: 0, completionTokens: 16 };

interface ChatBody {
  model?: unknown;
  messages?: unknown;
  stream?: unknown;
  max_tokens?: unknown;
  stream_options?: { include_usage?: unknown };
}

export async function startSimulator(opts: SimulatorOptions = {}): Promise<Simulator> {
  const defaults: Behaviour = { ...DEFAULTS, ...opts.defaults };
  const behaviours = new Map<string, Behaviour>();
  const stats = new Map<string, InstanceStats>();
  const sockets = new Set<Socket>();
  let counter = 0;

  const statsOf = (instance: string): InstanceStats => {
    let s = stats.get(instance);
    if (!s) {
      s = { requests: 0, completed: 0, aborted: 0, faults: 0, requestIds: [] };
      stats.set(instance, s);
    }
    return s;
  };

  const server: Server = createServer({ keepAlive: true }, (req, res) => {
    handle(req, res).catch(() => {
      if (!res.headersSent) res.writeHead(500).end();
      else res.destroy();
    });
  });
  server.keepAliveTimeout = 60_000;
  server.on("connection", (s) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = req.url ?? "/";
    const m = /^\/(?:(.+)\/)?v1\/(chat\/completions|models)$/.exec(url.split("?")[0]!);
    if (!m) {
      json(res, 404, { error: { message: "not found", type: "invalid_request_error" } });
      return;
    }
    const instance = m[1] ?? "default";
    if (m[2] === "models") {
      json(res, 200, { object: "list", data: [{ id: "sim", object: "model", owned_by: "simulator" }] });
      return;
    }
    if (req.method !== "POST") {
      json(res, 405, { error: { message: "method not allowed", type: "invalid_request_error" } });
      return;
    }
    const raw = await readBody(req);
    const st = statsOf(instance);
    st.requests++;
    const rid = req.headers["x-request-id"];
    if (typeof rid === "string") st.requestIds.push(rid);

    let body: ChatBody;
    try {
      body = JSON.parse(raw) as ChatBody;
    } catch {
      json(res, 400, { error: { message: "body is not JSON", type: "invalid_request_error" } });
      return;
    }
    if (typeof body.model !== "string" || !Array.isArray(body.messages) || body.messages.length === 0) {
      json(res, 400, { error: { message: "model and messages are required", type: "invalid_request_error" } });
      return;
    }
    const b = { ...defaults, ...behaviours.get(instance) };
    const fault = b.fault && Math.random() < (b.faultRate ?? 1) ? b.fault : undefined;
    if (fault) st.faults++;
    if (fault?.kind === "reset") {
      req.socket.destroy();
      return;
    }
    if (fault?.kind === "hang") return; // the socket stays open until the client gives up
    if (fault?.kind === "status") {
      const headers: Record<string, string> = {};
      if (fault.retryAfterSeconds !== undefined) headers["retry-after"] = String(fault.retryAfterSeconds);
      json(res, fault.status, { error: { message: `simulated ${fault.status}`, type: "server_error" } }, headers);
      return;
    }

    const maxTokens = typeof body.max_tokens === "number" && body.max_tokens > 0 ? body.max_tokens : Infinity;
    const n = Math.max(1, Math.min(b.completionTokens, maxTokens));
    const promptTokens = estimateTokens(body.messages);
    const id = `chatcmpl-sim-${++counter}`;
    const created = Math.floor(Date.now() / 1000);
    const finish = n < b.completionTokens ? "length" : "stop";
    let closed = false;
    res.on("close", () => {
      if (!res.writableFinished) {
        closed = true;
        st.aborted++;
      }
    });

    if (b.ttftMs > 0) await sleep(b.ttftMs);
    if (closed) return;

    if (body.stream !== true) {
      const content = Array.from({ length: n }, (_, i) => WORDS[i % WORDS.length]).join(" ");
      json(res, 200, {
        id,
        object: "chat.completion",
        created,
        model: body.model,
        choices: [{ index: 0, message: { role: "assistant", content }, finish_reason: finish }],
        usage: { prompt_tokens: promptTokens, completion_tokens: n, total_tokens: promptTokens + n },
      });
      st.completed++;
      return;
    }

    res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache" });
    const chunk = (delta: object, finishReason: string | null) =>
      `data: ${JSON.stringify({ id, object: "chat.completion.chunk", created, model: body.model, choices: [{ index: 0, delta, finish_reason: finishReason }] })}\n\n`;
    const gap = b.tokensPerSecond > 0 ? 1000 / b.tokensPerSecond : 0;
    for (let i = 0; i < n; i++) {
      if (closed) return;
      if (fault?.kind === "abort_after" && i >= fault.chunks) {
        res.destroy();
        return;
      }
      const word = (i === 0 ? "" : " ") + WORDS[i % WORDS.length];
      const ok = res.write(chunk(i === 0 ? { role: "assistant", content: word } : { content: word }, null));
      // Honour back-pressure from a slow reader instead of buffering the whole completion.
      if (!ok) await new Promise((r) => res.once("drain", r));
      if (gap > 0 && i < n - 1) await sleep(gap);
    }
    if (closed) return;
    let tail = chunk({}, finish);
    if (body.stream_options?.include_usage === true) {
      tail += `data: ${JSON.stringify({ id, object: "chat.completion.chunk", created, model: body.model, choices: [], usage: { prompt_tokens: promptTokens, completion_tokens: n, total_tokens: promptTokens + n } })}\n\n`;
    }
    res.end(`${tail}data: [DONE]\n\n`);
    st.completed++;
  }

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(opts.port ?? 0, opts.host ?? "127.0.0.1", () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const host = opts.host ?? "127.0.0.1";

  return {
    url: `http://${host}:${port}`,
    port,
    setBehaviour(instance, behaviour) {
      behaviours.set(instance, { ...defaults, ...behaviours.get(instance), ...behaviour });
    },
    resetBehaviour() {
      behaviours.clear();
    },
    stats: (instance) => statsOf(instance),
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

function json(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(text), ...headers });
  res.end(text);
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    req.on("data", (c: Buffer) => parts.push(c));
    req.on("end", () => resolve(Buffer.concat(parts).toString("utf8")));
    req.on("error", reject);
  });
}

/** ~4 characters per token, the usual rough estimate; counts only, content is not kept. */
function estimateTokens(messages: unknown[]): number {
  let chars = 0;
  for (const m of messages) {
    const c = (m as { content?: unknown }).content;
    if (typeof c === "string") chars += c.length;
  }
  return Math.max(1, Math.ceil(chars / 4));
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
