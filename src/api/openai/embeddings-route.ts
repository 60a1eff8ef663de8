import type { IncomingMessage, ServerResponse } from "node:http";
import type { EmbeddingOutcome } from "../../routing/index.js";
import { noteModel } from "../../telemetry/index.js";
import { type EncodingFormat, fromOpenAIEmbeddingBody } from "../grpc/index.js";
import { readJson, sendJson } from "./http-json.js";
import { callerSignal } from "./http-stream.js";
import type { OpenAIHttpDeps } from "./openai-http.js";
import { routeHeaders } from "./route-headers.js";

/**
 * `POST /v1/embeddings` (OpenAI's shape, https://platform.openai.com/docs/api-reference/embeddings/create):
 * the body parsed by api/grpc/embed-request.ts (every field honoured or refused naming it), routed
 * by `Router.embed` (policy, `kind: embedding` endpoints only, decision record durable first,
 * failover, outcome record with usage and cost). The answer is
 * `{object: "list", data: [{object: "embedding", index, embedding}], model, usage}` with the
 * decision id and endpoint in `x-sovr-decision-id` / `x-sovr-endpoint`, and the advisory
 * parameters not applied in `x-sovr-unapplied-parameters`. Errors are thrown: openai-http.ts
 * maps them once (toOpenAIError).
 *
 * @example
 *   const openai = new OpenAI({ baseURL: `${httpUrl}/v1`, apiKey });
 *   const { data } = await openai.embeddings.create({ model: "sim/embed-small", input: ["a", "b"] });
 */
export async function embeddings(
  deps: OpenAIHttpDeps,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  const principal = await deps.authenticate(req, "POST /v1/embeddings");
  const body = await readJson(req, res);
  if (body === undefined) return;
  const workload = req.headers["x-sovr-workload"];
  const { route, encodingFormat } = fromOpenAIEmbeddingBody(
    body,
    typeof workload === "string" ? workload : "",
  );
  noteModel(req, route.model);
  const p = route.workload ? { ...principal, workload: route.workload } : principal;
  const out = await deps.router.embed(route, p, callerSignal(req, res));
  sendJson(res, 200, embeddingResponse(out, encodingFormat), routeHeaders(out));
}

function embeddingResponse(out: EmbeddingOutcome, format: EncodingFormat) {
  return {
    object: "list",
    data: out.vectors.map((v, index) => ({
      object: "embedding",
      index,
      embedding: format === "base64" ? float32Base64(v) : v,
    })),
    model: out.endpoint.model,
    usage: {
      prompt_tokens: out.usage.promptTokens,
      total_tokens: out.usage.promptTokens,
      // OpenRouter reports cost in USD; ours is at catalog prices.
      cost: out.usage.costMicroUsd / 1e6,
    },
  };
}

/**
 * A vector as OpenAI's `encoding_format: "base64"` carries it: the float32 values, little-endian,
 * base64 (what the openai SDKs decode with a Float32Array over the bytes).
 */
export function float32Base64(v: readonly number[]): string {
  const bytes = Buffer.allocUnsafe(v.length * 4);
  for (let i = 0; i < v.length; i++) bytes.writeFloatLE(v[i]!, i * 4);
  return bytes.toString("base64");
}
