import { createHash } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import { json } from "./http.js";
import type { Behaviour, InstanceStats } from "./simulator.js";

/** Vector length when the request names none. */
export const DEFAULT_DIMENSIONS = 16;
const MAX_DIMENSIONS = 4096;

/**
 * The simulator's `POST /v1/embeddings` (OpenAI's shape): each input's vector is derived from a
 * SHA-256 of that input alone, so the same text always gets the same vector whichever instance
 * answers, and `dimensions` sets its length. Unit length, as OpenAI's vectors are. The instance's
 * behaviour applies as for chat: accepted keys, faults (status, reset, hang) and the delay
 * before the answer. Nothing of the input is kept: only counts.
 */
export async function serveEmbeddings(
  req: IncomingMessage,
  res: ServerResponse,
  raw: string,
  b: Behaviour,
  st: InstanceStats,
): Promise<void> {
  let body: { model?: unknown; input?: unknown; dimensions?: unknown; encoding_format?: unknown };
  try {
    body = JSON.parse(raw) as typeof body;
  } catch {
    return error(res, 400, "body is not JSON");
  }
  const input = typeof body.input === "string" ? [body.input] : body.input;
  if (
    typeof body.model !== "string" ||
    !Array.isArray(input) ||
    input.length === 0 ||
    !input.every((s) => typeof s === "string")
  )
    return error(res, 400, "model and input (a string or an array of strings) are required");
  const dims = body.dimensions ?? DEFAULT_DIMENSIONS;
  if (typeof dims !== "number" || !Number.isInteger(dims) || dims < 1 || dims > MAX_DIMENSIONS)
    return error(res, 400, `dimensions must be an integer from 1 to ${MAX_DIMENSIONS}`);
  if (b.acceptKeys && !b.acceptKeys.includes(st.credentials.at(-1)!))
    return void json(res, 401, { error: { message: "invalid api key", type: "authentication_error" } });
  const fault = b.fault && Math.random() < (b.faultRate ?? 1) ? b.fault : undefined;
  if (fault) st.faults++;
  if (fault?.kind === "reset") return void req.socket.destroy();
  if (fault?.kind === "hang") return; // the socket stays open until the client gives up
  if (fault?.kind === "status") {
    const headers: Record<string, string> = {};
    if (fault.retryAfterSeconds !== undefined) headers["retry-after"] = String(fault.retryAfterSeconds);
    const type = fault.status >= 500 ? "server_error" : "invalid_request_error";
    return void json(res, fault.status, { error: { message: `simulated ${fault.status}`, type } }, headers);
  }
  if (b.ttftMs > 0) await new Promise((r) => setTimeout(r, b.ttftMs));
  if (res.destroyed) return;
  const base64 = body.encoding_format === "base64";
  let promptTokens = 0;
  const data = (input as string[]).map((text, index) => {
    promptTokens += Math.max(1, Math.ceil(text.length / 4));
    const v = simulatedEmbedding(text, dims);
    return {
      object: "embedding",
      index,
      embedding: base64 ? Buffer.from(new Float32Array(v).buffer).toString("base64") : v,
    };
  });
  json(res, 200, {
    object: "list",
    data,
    model: body.model,
    usage: { prompt_tokens: promptTokens, total_tokens: promptTokens },
  });
  st.completed++;
}

/**
 * The simulator's vector for `text`: SHA-256 blocks of (text, block number) read as bytes
 * mapped to [-1, 1], then scaled to unit length and rounded to float32 (what real APIs send).
 * Exported so tests can compute the vector they expect.
 */
export function simulatedEmbedding(text: string, dimensions: number): number[] {
  const raw: number[] = [];
  for (let block = 0; raw.length < dimensions; block++) {
    const h = createHash("sha256").update(text).update(`\u0000${block}`).digest();
    for (const byte of h) if (raw.length < dimensions) raw.push(byte / 127.5 - 1);
  }
  const norm = Math.hypot(...raw) || 1;
  return Array.from(new Float32Array(raw.map((x) => x / norm)));
}

function error(res: ServerResponse, status: number, message: string): void {
  json(res, status, { error: { message, type: "invalid_request_error" } });
}
