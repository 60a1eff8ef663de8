import { Pool } from "undici";

/**
 * The load generator's clients. Every call resolves with the `performance.now()` at which the
 * measured event happened — the whole response (unary) or the first non-empty content chunk
 * (streaming) — and only after the call has completed, so a stream that fails after its first
 * chunk still counts as an error. The caller takes the start time just before calling.
 *
 * Request bodies are serialised once (JSON for HTTP targets, protobuf for gRPC, see grpc-h2.ts):
 * every target pays the same (zero) client-side serialisation, and responses are fully parsed
 * and checked.
 */
export type Call = (signal: AbortSignal) => Promise<number>;

/**
 * The prompt every target gets. `BENCH_PROMPT_BYTES` pads it to that many bytes with ordinary
 * prose (a typical 1 KB prompt for the content-detector rows: text the detectors must read,
 * with nothing for them to find).
 */
export const PROMPT = promptOfBytes(Number(process.env.BENCH_PROMPT_BYTES ?? 0));

/** The bench prompt padded to about `bytes` bytes (the variant rows' 1 KB prompt). */
export function promptOfBytes(bytes: number): string {
  return padded("Summarise the benchmark in one sentence.", bytes);
}

function padded(base: string, bytes: number): string {
  const filler = " The quarterly report covers sales, staffing and the new office in the north.";
  let out = base;
  while (out.length + filler.length <= bytes) out += filler;
  return out;
}
export const MODEL = "sim/chat-small";

export class CallError extends Error {
  constructor(
    readonly kind: string,
    message: string,
  ) {
    super(`${kind}: ${message}`);
  }
}

/** The OpenAI-style body every HTTP target gets (direct, sovr HTTP, Portkey, LiteLLM). */
export function openAiBody(stream: boolean, model = MODEL, prompt = PROMPT): string {
  return JSON.stringify({
    model,
    messages: [{ role: "user", content: prompt }],
    ...(stream ? { stream: true } : {}),
  });
}

/** One keep-alive HTTP/1.1 connection pool per target (undici, as the OpenAI SDK's fetch uses). */
export function httpPool(origin: string): Pool {
  return new Pool(origin, {
    connections: 512,
    pipelining: 1,
    keepAliveTimeout: 60_000,
    headersTimeout: 10_000,
    bodyTimeout: 10_000,
  });
}

export function httpUnary(
  pool: Pool,
  path: string,
  headers: Record<string, string>,
  model = MODEL,
  prompt = PROMPT,
): Call {
  const body = openAiBody(false, model, prompt);
  const h = { "content-type": "application/json", ...headers };
  return async (signal) => {
    const res = await pool.request({ path, method: "POST", headers: h, body, signal });
    const text = await res.body.text();
    const done = performance.now();
    if (res.statusCode !== 200) throw new CallError(`http ${res.statusCode}`, text.slice(0, 200));
    const json = JSON.parse(text) as { choices?: { message?: { content?: string } }[] };
    if (!json.choices?.[0]?.message?.content) throw new CallError("bad body", text.slice(0, 200));
    return done;
  };
}

/** Streaming over SSE: time to the first `data:` event whose delta carries content. */
export function httpStream(
  pool: Pool,
  path: string,
  headers: Record<string, string>,
  model = MODEL,
  prompt = PROMPT,
): Call {
  const body = openAiBody(true, model, prompt);
  const h = { "content-type": "application/json", accept: "text/event-stream", ...headers };
  return async (signal) => {
    const res = await pool.request({ path, method: "POST", headers: h, body, signal });
    if (res.statusCode !== 200) {
      const text = await res.body.text();
      throw new CallError(`http ${res.statusCode}`, text.slice(0, 200));
    }
    let first: number | undefined;
    let buf = "";
    let tail = "";
    for await (const chunk of res.body) {
      const s = (chunk as Buffer).toString("utf8");
      if (first === undefined) {
        buf += s;
        let i = buf.indexOf("\n\n");
        while (i >= 0 && first === undefined) {
          const event = buf.slice(0, i);
          buf = buf.slice(i + 2);
          const data = event.split("\n").find((l) => l.startsWith("data:"));
          if (data && !data.includes("[DONE]")) {
            const j = JSON.parse(data.slice(5)) as { choices?: { delta?: { content?: string } }[] };
            if (j.choices?.[0]?.delta?.content) first = performance.now();
          }
          i = buf.indexOf("\n\n");
        }
      }
      tail = (tail + s).slice(-64);
    }
    if (first === undefined) throw new CallError("no content", "stream ended without a content chunk");
    if (!tail.includes("[DONE]")) throw new CallError("truncated", "stream ended without [DONE]");
    return first;
  };
}
