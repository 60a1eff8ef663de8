/**
 * An OpenAI Chat Completions body (`ChatCompletionCreateParams` of the `openai` SDK, with
 * OpenRouter's extensions) → RouteRequest. Every field is forwarded (core fields, or `params`
 * by its OpenAI name: routing/parameters.ts classes them), translated, or refused with a 400
 * naming it; nothing is dropped. docs/routing.md, "API compatibility", has the table.
 */
import { DEFAULT_REQUEST_LIMITS, type RequestLimits } from "../../config/index.js";
import { bool, check, isObject, num, str, strList } from "../../encoding/index.js";
import type { RouteRequest } from "../../routing/index.js";
import { preferencesFromJson } from "../../routing/index.js";
import type { UpstreamTool } from "../../upstream/index.js";
import { REASONING_EFFORTS, validateRouteRequest } from "../grpc/index.js";
import { openAIMessage } from "./content-parts.js";

export interface OpenAIChatOptions {
  stream: boolean;
  /** A usage chunk ends the stream (`stream_options.include_usage`, OpenRouter's `usage.include`). */
  includeUsage: boolean;
  /** OpenRouter's `reasoning.exclude`: the model reasons, the answer carries no reasoning text. */
  excludeReasoning: boolean;
}

export interface ChatBodyContext {
  /** The `x-sovr-workload` header. */
  workload?: string;
  limits?: RequestLimits;
  /**
   * Whether an endpoint serving one of `models` (current catalog) declares `name` in its
   * `supported_parameters`: such an unknown field is passed through as a contract parameter.
   */
  declares?: (name: string, models: readonly string[]) => boolean;
}

/** Sent upstream under the same name (values checked by api/grpc/chat-params.ts). */
const PARAMS = [
  "response_format",
  "logprobs",
  "top_logprobs",
  "presence_penalty",
  "frequency_penalty",
  "logit_bias",
  "parallel_tool_calls",
  "reasoning_effort",
  "verbosity",
  "user",
  "safety_identifier",
  "service_tier",
  "prediction",
  "store",
  "prompt_cache_key",
  "prompt_cache_retention",
  "prompt_cache_options",
  // OpenRouter's sampling parameters.
  "top_k",
  "min_p",
  "top_a",
  "repetition_penalty",
];

/** Read by the parser itself (core fields, translations, routing extensions). */
const HANDLED = new Set([
  "model",
  "models",
  "messages",
  "max_tokens",
  "max_completion_tokens",
  "temperature",
  "top_p",
  "stop",
  "tools",
  "tool_choice",
  "seed",
  "n",
  "stream",
  "stream_options",
  "metadata",
  "provider",
  "region",
  "reasoning",
  "usage",
  "modalities",
  ...PARAMS,
]);

/** Refused whatever their value (unless null), and why. */
const REFUSED: Readonly<Record<string, string>> = {
  functions: "is deprecated and not supported: use tools",
  function_call: "is deprecated and not supported: use tool_choice",
  audio: "audio output is not supported",
  web_search_options: "is not supported: the provider would fetch URLs outside the routing policy",
  moderation: "is not supported: moderated completions depend on one provider's moderation service",
};
const REFUSED_ENTRIES = Object.entries(REFUSED);

function tool(v: unknown, i: number): UpstreamTool {
  const f = `tools[${i}]`;
  check(isObject(v), f, "must be {type: function, function: {...}}");
  check(
    v.type === undefined || v.type === "function",
    `${f}.type`,
    "must be function (custom tools are not supported)",
  );
  for (const k of Object.keys(v))
    check(k === "type" || k === "function", `${f}.${k.slice(0, 32)}`, "is not a tool field");
  check(isObject(v.function), `${f}.function`, "must be {name, description?, parameters?, strict?}");
  const fn = v.function;
  for (const k of Object.keys(fn))
    check(
      ["name", "description", "parameters", "strict"].includes(k),
      `${f}.function.${k.slice(0, 32)}`,
      "is not a function field",
    );
  const name = str(fn.name, `${f}.function.name`);
  check(name !== undefined, `${f}.function.name`, "is required");
  const strict = bool(fn.strict, `${f}.function.strict`);
  const out: UpstreamTool = {
    type: "function",
    function: {
      name,
      description: str(fn.description, `${f}.function.description`),
      parameters: fn.parameters,
    },
  };
  if (strict !== undefined) out.function.strict = strict;
  return out;
}

/** OpenRouter's `reasoning: {effort, max_tokens, exclude, enabled}` → `reasoning_effort` and exclude. */
function reasoning(v: unknown, params: Record<string, unknown>): boolean {
  if (v === undefined || v === null) return false;
  check(isObject(v), "reasoning", "must be {effort?, exclude?, enabled?}");
  for (const k of Object.keys(v))
    check(
      ["effort", "max_tokens", "exclude", "enabled"].includes(k),
      `reasoning.${k.slice(0, 32)}`,
      "is not a reasoning field",
    );
  check(
    v.max_tokens === undefined || v.max_tokens === null,
    "reasoning.max_tokens",
    "a reasoning token budget is not supported: give reasoning.effort",
  );
  const enabled = bool(v.enabled, "reasoning.enabled");
  let effort = str(v.effort, "reasoning.effort");
  if (effort !== undefined)
    check(
      REASONING_EFFORTS.has(effort),
      "reasoning.effort",
      `must be one of ${[...REASONING_EFFORTS].join(", ")}`,
    );
  // OpenRouter: `enabled: true` alone is medium effort; `enabled: false` turns reasoning off.
  if (effort === undefined && enabled !== undefined) effort = enabled ? "medium" : "none";
  if (effort !== undefined) {
    check(
      params.reasoning_effort === undefined || params.reasoning_effort === effort,
      "reasoning.effort",
      "differs from reasoning_effort",
    );
    params.reasoning_effort = effort;
  }
  return bool(v.exclude, "reasoning.exclude") ?? false;
}

function streamOptions(v: unknown, stream: boolean): boolean {
  if (v === undefined || v === null) return false;
  check(stream, "stream_options", "is only allowed with stream: true");
  check(isObject(v), "stream_options", "must be an object");
  for (const k of Object.keys(v))
    check(
      k === "include_usage" || k === "include_obfuscation",
      `stream_options.${k.slice(0, 32)}`,
      "is not a stream option",
    );
  check(
    bool(v.include_obfuscation, "stream_options.include_obfuscation") !== true,
    "stream_options.include_obfuscation",
    "obfuscation padding is not supported",
  );
  return bool(v.include_usage, "stream_options.include_usage") ?? false;
}

/**
 * The body → RouteRequest (validated) and the response options. `metadata` (string → string)
 * becomes the request's routing labels; `n` > 1, `logprobs` and a JSON `response_format` are
 * contract parameters (endpoints that do not declare them are excluded).
 */
export function fromOpenAIChatBody(
  body: unknown,
  ctx: ChatBodyContext = {},
): { route: RouteRequest; options: OpenAIChatOptions } {
  check(isObject(body), "body", "must be a JSON object");
  const models = strList(body.models, "models") ?? [];
  const model = str(body.model, "model") ?? models[0];
  check(model !== undefined, "model", "is required (or a non-empty models list)");
  check(Array.isArray(body.messages), "messages", "must be an array");
  check(body.messages.length > 0, "messages", "at least one message is required");

  const params: Record<string, unknown> = {};
  for (const [name, why] of REFUSED_ENTRIES)
    check(body[name] === undefined || body[name] === null, name, why);
  for (const name of Object.keys(body)) {
    if (HANDLED.has(name) || Object.hasOwn(REFUSED, name)) continue;
    check(
      ctx.declares?.(name, [model, ...models]) === true,
      name.slice(0, 64),
      "is not a supported parameter (no endpoint of the requested model declares it)",
    );
    params[name] = body[name];
  }
  for (const name of PARAMS) if (body[name] !== undefined && body[name] !== null) params[name] = body[name];
  // The defaults, equivalent to leaving the field out: not sent, not a contract.
  if (isObject(params.response_format) && params.response_format.type === "text")
    delete params.response_format;
  if (params.logprobs === false) delete params.logprobs;
  const modalities = strList(body.modalities, "modalities") ?? [];
  check(!modalities.includes("audio"), "modalities", "audio output is not supported");
  check(
    modalities.every((m) => m === "text"),
    "modalities",
    "must be [text]",
  );

  const n = num(body.n, "n");
  if (n !== undefined && n !== 1) params.n = n;
  const excludeReasoning = reasoning(body.reasoning, params);
  let includeUsage = false;
  if (body.usage !== undefined && body.usage !== null) {
    // OpenRouter's usage accounting: the router always returns usage; `include` adds the stream's usage chunk.
    check(isObject(body.usage), "usage", "must be {include}");
    for (const k of Object.keys(body.usage))
      check(k === "include", `usage.${k.slice(0, 32)}`, "is not a usage field");
    includeUsage = bool(body.usage.include, "usage.include") ?? false;
  }

  const maxTokens = num(body.max_tokens, "max_tokens");
  const maxCompletionTokens = num(body.max_completion_tokens, "max_completion_tokens");
  check(
    maxTokens === undefined || maxCompletionTokens === undefined,
    "max_completion_tokens",
    "give max_tokens or max_completion_tokens, not both",
  );
  if (maxCompletionTokens !== undefined) params.max_completion_tokens = maxCompletionTokens;

  let stop = body.stop;
  if (typeof stop === "string") stop = [stop];
  const labels: Record<string, string> = {};
  if (body.metadata !== undefined && body.metadata !== null) {
    check(isObject(body.metadata), "metadata", "must be an object of strings");
    for (const [k, v] of Object.entries(body.metadata))
      labels[k] = str(v, `metadata.${k.slice(0, 32)}`) ?? "";
  }
  const seed = num(body.seed, "seed");
  check(seed === undefined || Number.isSafeInteger(seed), "seed", "must be an integer");
  check(
    body.tools === undefined || body.tools === null || Array.isArray(body.tools),
    "tools",
    "must be an array",
  );
  const stream = bool(body.stream, "stream") ?? false;
  includeUsage = streamOptions(body.stream_options, stream) || includeUsage;
  const route = validateRouteRequest(
    {
      model,
      models: models.filter((m) => m !== model),
      messages: body.messages.map(openAIMessage),
      provider: preferencesFromJson(body.provider),
      region: str(body.region, "region") ?? null,
      labels,
      maxTokens: maxTokens ?? maxCompletionTokens,
      temperature: num(body.temperature, "temperature"),
      topP: num(body.top_p, "top_p"),
      stop: strList(stop, "stop"),
      tools: Array.isArray(body.tools) && body.tools.length > 0 ? body.tools.map(tool) : undefined,
      toolChoice: body.tool_choice ?? undefined,
      seed,
      ...(Object.keys(params).length > 0 ? { params } : {}),
      workload: ctx.workload ?? "",
    },
    ctx.limits ?? DEFAULT_REQUEST_LIMITS,
  );
  return { route, options: { stream, includeUsage, excludeReasoning } };
}
