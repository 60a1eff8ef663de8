/**
 * Embeddings requests from both APIs → one RouteRequest with `operation: "embedding"` and each
 * input as a `user` message (routing/embed.ts), validated against {@link LIMITS}. Every field of
 * OpenAI's `EmbeddingCreateParams` (openai 6.49.0, resources/embeddings.d.ts) is honoured or
 * refused naming it: `input` (text; token arrays are refused: token ids belong to one
 * tokenizer, and the router may pick another model's endpoint), `model`, `dimensions` (a
 * contract parameter), `encoding_format` (float, or base64 that the API edge encodes itself),
 * `user` (advisory); plus OpenRouter's `provider`, `models` and `region`. Anything else: 400.
 */
import { LIMITS } from "../../config/index.js";
import { check, isObject, num, str, strList } from "../../encoding/index.js";
import type { EmbedRequest } from "../../gen/sovereign/v1/router_pb.js";
import type { RouteRequest } from "../../routing/index.js";
import { preferencesFromJson, preferencesFromProto } from "../../routing/index.js";
import { validateRouteRequest } from "./chat-request.js";

/** The body fields `POST /v1/embeddings` takes; any other is refused naming it. */
const OPENAI_FIELDS = new Set([
  "input",
  "model",
  "dimensions",
  "encoding_format",
  "user",
  "provider",
  "models",
  "region",
]);

export type EncodingFormat = "float" | "base64";

interface EmbeddingFields {
  model: string;
  models: readonly string[];
  input: readonly string[];
  provider: RouteRequest["provider"];
  region: string | null;
  labels: Readonly<Record<string, string>>;
  dimensions?: number;
  user?: string;
  workload: string;
}

/** The inputs against the limits: count, each non-empty, each and all within the byte limits. */
function checkInputs(input: readonly string[]): void {
  check(input.length > 0, "input", "at least one input is required");
  check(input.length <= LIMITS.embeddingInputs, "input", `at most ${LIMITS.embeddingInputs} inputs`);
  let total = 0;
  input.forEach((text, i) => {
    check(text.length > 0, `input[${i}]`, "must not be empty");
    const bytes = Buffer.byteLength(text, "utf8");
    check(bytes <= LIMITS.contentBytes, `input[${i}]`, `at most ${LIMITS.contentBytes} bytes`);
    total += bytes;
  });
  check(total <= LIMITS.totalContentBytes, "input", `total at most ${LIMITS.totalContentBytes} bytes`);
}

/** Validated fields → the RouteRequest the router takes. */
function toRoute(f: EmbeddingFields): RouteRequest {
  checkInputs(f.input);
  if (f.dimensions !== undefined)
    check(
      Number.isInteger(f.dimensions) && f.dimensions >= 1 && f.dimensions <= LIMITS.embeddingDimensions,
      "dimensions",
      `must be an integer from 1 to ${LIMITS.embeddingDimensions}`,
    );
  if (f.user !== undefined)
    check(f.user.length <= LIMITS.idLength, "user", `at most ${LIMITS.idLength} characters`);
  const params: Record<string, unknown> = {};
  if (f.dimensions !== undefined) params.dimensions = f.dimensions;
  if (f.user !== undefined && f.user !== "") params.user = f.user;
  const route: RouteRequest = {
    model: f.model,
    models: f.models.filter((m) => m !== f.model),
    messages: f.input.map((text) => ({ role: "user", content: text })),
    provider: f.provider,
    region: f.region,
    labels: f.labels,
    params,
    operation: "embedding",
    workload: f.workload,
  };
  // The routing fields (model, models, provider, region, labels, workload) as for chat; the
  // inputs were checked above against the embeddings limits, not the chat messages' ones.
  validateRouteRequest({ ...route, messages: [] });
  return route;
}

/** An OpenAI `POST /v1/embeddings` body → RouteRequest (validated) and the answer's encoding. */
export function fromOpenAIEmbeddingBody(
  body: unknown,
  workload = "",
): { route: RouteRequest; encodingFormat: EncodingFormat } {
  check(isObject(body), "body", "must be a JSON object");
  for (const key of Object.keys(body))
    check(OPENAI_FIELDS.has(key), key.slice(0, 64), "is not a field of the embeddings API");
  const models = strList(body.models, "models") ?? [];
  const model = str(body.model, "model") ?? models[0];
  check(model !== undefined, "model", "is required (or a non-empty models list)");
  const raw = body.input;
  check(raw !== undefined && raw !== null, "input", "is required");
  const list: unknown[] = typeof raw === "string" ? [raw] : Array.isArray(raw) ? raw : [undefined];
  list.forEach((v, i) =>
    check(
      typeof v === "string",
      Array.isArray(raw) ? `input[${i}]` : "input",
      typeof v === "number" || Array.isArray(v)
        ? "token arrays are not supported: send text (token ids belong to one model's tokenizer)"
        : "must be a string or an array of strings",
    ),
  );
  const format = str(body.encoding_format, "encoding_format") ?? "float";
  check(format === "float" || format === "base64", "encoding_format", "must be float or base64");
  const route = toRoute({
    model,
    models,
    input: list as string[],
    provider: preferencesFromJson(body.provider),
    region: str(body.region, "region") ?? null,
    labels: {},
    dimensions: num(body.dimensions, "dimensions"),
    user: str(body.user, "user"),
    workload,
  });
  return { route, encodingFormat: format };
}

/** gRPC/Connect EmbedRequest → RouteRequest (validated). */
export function fromProtoEmbedRequest(m: EmbedRequest): RouteRequest {
  check(m.model.length > 0 || m.models.length > 0, "model", "is required (or a non-empty models list)");
  return toRoute({
    model: m.model || m.models[0]!,
    models: m.models,
    input: m.input,
    provider: preferencesFromProto(m.provider),
    region: m.region || null,
    labels: m.labels,
    dimensions: m.dimensions,
    user: m.user || undefined,
    workload: m.workload,
  });
}
