import { endpointUrl } from "./endpoint-url.js";
import { UpstreamError } from "./errors.js";
import { type PoolSet, postJson, toUpstreamError } from "./http-call.js";
import type { EmbeddingRequest, EmbeddingResult, UpstreamCallOptions, UpstreamTarget } from "./types.js";

/**
 * The largest embeddings answer read: OpenAI's own limits (2,048 inputs × 3,072 dimensions) as
 * JSON floats stay well under it. Above it the upstream is misbehaving: a protocol error.
 */
const MAX_RESPONSE_BYTES = 256 << 20;

interface OpenAIEmbeddingResponse {
  data?: { index?: unknown; embedding?: unknown }[];
  usage?: { prompt_tokens?: unknown } | null;
}

/**
 * `POST {base}/embeddings` of the OpenAI API (https://platform.openai.com/docs/api-reference/embeddings/create),
 * which Mistral, vLLM, Ollama and most OpenAI-compatible servers also speak. Sends the texts,
 * `dimensions` and `user` when given, and no `encoding_format` (float is every server's
 * default); reads float arrays, or base64 little-endian float32 from a server that sends those
 * anyway. Same pools, timeouts and error classes as the chat call: the first-token timeout runs
 * until the answer's headers, the idle timeout between body chunks.
 */
export async function openAIEmbed(
  pools: PoolSet,
  headers: Record<string, string>,
  target: UpstreamTarget,
  req: EmbeddingRequest,
  opts: UpstreamCallOptions,
): Promise<EmbeddingResult> {
  const url = endpointUrl(target.baseUrl, "embeddings");
  const body: Record<string, unknown> = { model: req.model, input: req.input };
  if (req.dimensions !== undefined) body.dimensions = req.dimensions;
  if (req.user !== undefined) body.user = req.user;
  const res = await postJson(
    pools,
    url,
    { ...headers, accept: "application/json" },
    JSON.stringify(body),
    opts,
  );
  res.gotFirstToken();
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of res.body) {
      res.touch();
      size += (chunk as Buffer).length;
      if (size > MAX_RESPONSE_BYTES)
        throw new UpstreamError(
          "protocol",
          `upstream embeddings answer larger than ${MAX_RESPONSE_BYTES} bytes`,
        );
      chunks.push(chunk as Buffer);
    }
  } catch (err) {
    throw toUpstreamError(err, undefined, opts.signal);
  } finally {
    res.done();
    res.body.destroy();
  }
  let parsed: OpenAIEmbeddingResponse;
  try {
    parsed = JSON.parse(Buffer.concat(chunks).toString("utf8")) as OpenAIEmbeddingResponse;
  } catch {
    throw new UpstreamError("protocol", "upstream sent an unparseable embeddings answer");
  }
  return { vectors: vectorsOf(parsed, req.input.length), ...usageOf(parsed) };
}

/** The vectors in input order; every input exactly once, every value a finite number. */
function vectorsOf(r: OpenAIEmbeddingResponse, inputs: number): number[][] {
  if (!Array.isArray(r.data) || r.data.length !== inputs)
    throw new UpstreamError("protocol", `upstream embeddings answer does not hold ${inputs} vectors`);
  const out: (number[] | undefined)[] = new Array(inputs);
  r.data.forEach((d, i) => {
    // `index` says which input a vector belongs to; servers that omit it answer in order.
    const at = d?.index ?? i;
    if (typeof at !== "number" || !Number.isInteger(at) || at < 0 || at >= inputs || out[at])
      throw new UpstreamError("protocol", "upstream embeddings answer has a bad or repeated index");
    out[at] = vector(d.embedding);
  });
  return out as number[][];
}

function vector(v: unknown): number[] {
  if (typeof v === "string") {
    const bytes = Buffer.from(v, "base64");
    if (bytes.length % 4 !== 0)
      throw new UpstreamError("protocol", "upstream base64 embedding is not float32");
    const out = new Array<number>(bytes.length / 4);
    for (let i = 0; i < out.length; i++) out[i] = bytes.readFloatLE(i * 4);
    return out;
  }
  if (!Array.isArray(v) || v.length === 0 || !v.every((x) => typeof x === "number" && Number.isFinite(x)))
    throw new UpstreamError("protocol", "upstream embedding is not an array of numbers");
  return v as number[];
}

function usageOf(r: OpenAIEmbeddingResponse): Pick<EmbeddingResult, "usage"> {
  const t = r.usage?.prompt_tokens;
  return typeof t === "number" && Number.isInteger(t) && t >= 0 ? { usage: { promptTokens: t } } : {};
}
