import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { serveEmbeddings } from "./embeddings.js";
import { json, readBody } from "./http.js";
import {
  anthropicMessage,
  anthropicStream,
  type Completion,
  openaiCompletion,
  openaiStream,
} from "./wire.js";

/**
 * The built-in upstream simulator: an OpenAI-compatible `/v1/chat/completions` (and
 * `/v1/embeddings`, ./embeddings.ts) and an Anthropic Messages API `/v1/messages` server on 127.0.0.1, streaming with SSE. `sovr serve` starts it in the default configuration; tests and
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
  /** Stream this many content chunks, then keep the stream open without sending more. */
  | { kind: "stall_after"; chunks: number }
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
  /** When set, only these credentials are accepted; any other gets HTTP 401. */
  acceptKeys?: readonly string[];
}

export interface InstanceStats {
  requests: number;
  completed: number;
  /** Streams the client abandoned before the end. */
  aborted: number;
  faults: number;
  /** `x-request-id` of every request received, in order (decision ids, never content). */
  requestIds: string[];
  /** `traceparent` of every request that carried one, in order (ids only). */
  traceparents: string[];
  /**
   * The credential each request presented (`authorization` bearer or `x-api-key`), in order,
   * "" when none: the simulator is the upstream, so it may see keys; tests check which was used.
   */
  credentials: string[];
  /** Names of the tools each request offered, in order (never their descriptions). */
  toolNames: string[][];
  /** Content chunks written to streams so far, summed over requests. */
  chunksWritten: number;
  /** Times a stream had to wait for the reader (the socket's buffer was full). */
  drainWaits: number;
  /** Requests per wire protocol. */
  protocols: { openai: number; anthropic: number };
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

const DEFAULTS: Behaviour = { ttftMs: 0, tokensPerSecond: 0, completionTokens: 16 };

interface ChatBody {
  model?: unknown;
  messages?: unknown;
  system?: unknown;
  stream?: unknown;
  max_tokens?: unknown;
  /** OpenAI's newer name for the limit (what reasoning models take); the same meaning here. */
  max_completion_tokens?: unknown;
  stream_options?: { include_usage?: unknown };
  tools?: unknown;
  tool_choice?: unknown;
}

type Protocol = "openai" | "anthropic";

export async function startSimulator(opts: SimulatorOptions = {}): Promise<Simulator> {
  const defaults: Behaviour = { ...DEFAULTS, ...opts.defaults };
  const behaviours = new Map<string, Behaviour>();
  const stats = new Map<string, InstanceStats>();
  const sockets = new Set<Socket>();
  let counter = 0;

  const statsOf = (instance: string): InstanceStats => {
    let s = stats.get(instance);
    if (!s) {
      s = {
        requests: 0,
        completed: 0,
        aborted: 0,
        faults: 0,
        requestIds: [],
        traceparents: [],
        credentials: [],
        toolNames: [],
        chunksWritten: 0,
        drainWaits: 0,
        protocols: { openai: 0, anthropic: 0 },
      };
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
    const m = /^\/(?:(.+)\/)?v1\/(chat\/completions|messages|models|embeddings)$/.exec(url.split("?")[0]!);
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
    const protocol: Protocol = m[2] === "messages" ? "anthropic" : "openai";
    const raw = await readBody(req);
    const st = statsOf(instance);
    st.requests++;
    st.protocols[protocol]++;
    const rid = req.headers["x-request-id"];
    if (typeof rid === "string") st.requestIds.push(rid);
    const tp = req.headers.traceparent;
    if (typeof tp === "string") st.traceparents.push(tp);
    const auth = req.headers.authorization ?? req.headers["x-api-key"];
    st.credentials.push(typeof auth === "string" ? auth.replace(/^Bearer /, "") : "");
    if (m[2] === "embeddings")
      return serveEmbeddings(req, res, raw, { ...defaults, ...behaviours.get(instance) }, st);

    let body: ChatBody;
    try {
      body = JSON.parse(raw) as ChatBody;
    } catch {
      json(res, 400, { error: { message: "body is not JSON", type: "invalid_request_error" } });
      return;
    }
    if (typeof body.model !== "string" || !Array.isArray(body.messages) || body.messages.length === 0) {
      json(res, 400, {
        error: { message: "model and messages are required", type: "invalid_request_error" },
      });
      return;
    }
    if (protocol === "anthropic" && typeof body.max_tokens !== "number") {
      json(res, 400, {
        type: "error",
        error: { type: "invalid_request_error", message: "max_tokens is required" },
      });
      return;
    }
    const tools = Array.isArray(body.tools)
      ? (body.tools as { name?: unknown; function?: { name?: unknown } }[])
      : [];
    const toolNames = tools.map((t) => String(t.function?.name ?? t.name ?? ""));
    st.toolNames.push(toolNames);
    const b = { ...defaults, ...behaviours.get(instance) };
    if (b.acceptKeys && !b.acceptKeys.includes(st.credentials.at(-1)!)) {
      json(res, 401, { error: { message: "invalid api key", type: "authentication_error" } });
      return;
    }
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
      const error = {
        message: `simulated ${fault.status}`,
        type: fault.status >= 500 ? "server_error" : "invalid_request_error",
      };
      json(
        res,
        fault.status,
        protocol === "anthropic"
          ? { type: "error", error: { type: error.type, message: error.message } }
          : { error },
        headers,
      );
      return;
    }

    // Other fields (sampling parameters, content parts) are accepted and not acted upon: the
    // simulator's catalog (catalog/simulator.yaml) declares only what it honours.
    const limit = body.max_completion_tokens ?? body.max_tokens;
    const maxTokens = typeof limit === "number" && limit > 0 ? limit : Infinity;
    const n = Math.max(1, Math.min(b.completionTokens, maxTokens));
    const promptTokens = estimateTokens(body.messages, body.system);
    const created = Math.floor(Date.now() / 1000);
    const finish = n < b.completionTokens ? "length" : "stop";
    // A tool is called when the caller insists on one: proves tools pass through both ways.
    const toolCall = toolNames.length > 0 && wantsTool(body.tool_choice) ? toolNames[0]! : undefined;
    const c: Completion = {
      id: `sim-${++counter}`,
      created,
      model: body.model,
      n,
      promptTokens,
      finish,
      toolCall,
    };
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
      json(res, 200, protocol === "anthropic" ? anthropicMessage(c) : openaiCompletion(c));
      st.completed++;
      return;
    }

    const wire =
      protocol === "anthropic"
        ? anthropicStream(c)
        : openaiStream(c, body.stream_options?.include_usage === true);
    res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache" });
    const write = async (text: string) => {
      // Honour back-pressure from a slow reader instead of buffering the whole completion.
      if (!res.write(text)) {
        st.drainWaits++;
        await new Promise<void>((r) => {
          const done = () => {
            res.off("drain", done);
            res.off("close", done);
            r();
          };
          res.on("drain", done);
          res.on("close", done);
        });
      }
    };
    await write(wire.head);
    const gap = b.tokensPerSecond > 0 ? 1000 / b.tokensPerSecond : 0;
    for (let i = 0; i < wire.chunks; i++) {
      if (closed) return;
      if (fault?.kind === "abort_after" && i >= fault.chunks) {
        // Let the chunks already written reach the client first: a reset *after* tokens arrived.
        await sleep(50);
        res.destroy();
        return;
      }
      if (fault?.kind === "stall_after" && i >= fault.chunks) return; // open, silent, until the client gives up
      await write(wire.chunk(i));
      st.chunksWritten++;
      if (gap > 0 && i < wire.chunks - 1) await sleep(gap);
    }
    if (closed) return;
    res.end(wire.tail);
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

/** ~4 characters per token, the usual rough estimate; counts only, content is not kept. */
function estimateTokens(messages: unknown[], system?: unknown): number {
  let chars = typeof system === "string" ? system.length : 0;
  const count = (c: unknown) => {
    if (typeof c === "string") chars += c.length;
    else if (Array.isArray(c)) for (const part of c) count((part as { text?: unknown }).text);
  };
  for (const m of messages) count((m as { content?: unknown }).content);
  return Math.max(1, Math.ceil(chars / 4));
}

function wantsTool(choice: unknown): boolean {
  if (choice === "required" || choice === "any") return true;
  const type = (choice as { type?: unknown } | null)?.type;
  return type === "function" || type === "tool" || type === "any";
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
