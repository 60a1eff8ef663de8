import type { RequestLimits } from "../../config/index.js";
/**
 * An OpenAI Responses API body (`POST /v1/responses`, `ResponseCreateParamsBase` of openai
 * 6.49.0) → the one internal request (RouteRequest) and the response options. Every field is
 * translated or refused naming it (HTTP 400, `param` = the field path); unknown fields are
 * refused too. OpenRouter's routing extensions `provider`, `models` and `region` are read as on
 * the Chat Completions path.
 *
 * Stateless: this server keeps no responses, so `store: true`, `previous_response_id`,
 * `conversation`, `background`, stored `prompt` templates and `context_management` are refused;
 * the request goes upstream with `store: false` wherever the endpoint declares `store`.
 * docs/routing.md's compatibility table lists each field's fate.
 */
import { LIMITS } from "../../config/index.js";
import { bool, check, isObject, type JsonObject, num, str, strList } from "../../encoding/index.js";
import type { RouteRequest } from "../../routing/index.js";
import { preferencesFromJson } from "../../routing/index.js";
import { validateRouteRequest } from "../grpc/index.js";
import { responsesMessages } from "./responses-input.js";
import { responsesTools } from "./responses-tools.js";

/** What the Response object repeats of the request (OpenAI echoes the settings it applied). */
export interface ResponseEcho {
  instructions: string | null;
  metadata: Record<string, string>;
  tools: Record<string, unknown>[];
  tool_choice: unknown;
  parallel_tool_calls: boolean;
  temperature: number | null;
  top_p: number | null;
  max_output_tokens: number | null;
  top_logprobs: number | null;
  text: { format: unknown; verbosity?: string };
  reasoning: { effort: string | null; summary: string | null };
  user?: string;
  safety_identifier?: string;
  prompt_cache_key?: string;
  prompt_cache_retention?: string;
  service_tier?: string;
}

export interface ResponsesOptions {
  stream: boolean;
  /** `stream_options.include_obfuscation` (OpenAI's default: on). */
  obfuscation: boolean;
  /** Output text logprobs were asked for (`include` or `top_logprobs`). */
  logprobs: boolean;
  echo: ResponseEcho;
}

/** Fields that need state this server does not keep, or features it does not run. */
const REFUSED: Record<string, string> = {
  previous_response_id: "this server stores no responses; send the whole conversation as input",
  conversation: "this server stores no conversations; send the whole conversation as input",
  prompt: "stored prompt templates are not supported; send instructions and input",
  context_management: "server-side compaction is not supported",
  moderation: "moderation is not run by this server",
  prompt_cache_options: "is not supported (prompt_cache_key and prompt_cache_retention are)",
};

const KNOWN = new Set([
  ...Object.keys(REFUSED),
  "background",
  "include",
  "input",
  "instructions",
  "max_output_tokens",
  "metadata",
  "model",
  "parallel_tool_calls",
  "prompt_cache_key",
  "prompt_cache_retention",
  "reasoning",
  "safety_identifier",
  "service_tier",
  "store",
  "stream",
  "stream_options",
  "temperature",
  "text",
  "tool_choice",
  "tools",
  "top_logprobs",
  "top_p",
  "truncation",
  "user",
  // OpenRouter's routing extensions, as on /v1/chat/completions.
  "provider",
  "models",
  "region",
]);

const EFFORTS = new Set(["none", "minimal", "low", "medium", "high", "xhigh", "max"]);
const SUMMARIES = new Set(["auto", "concise", "detailed"]);
const VERBOSITY = new Set(["low", "medium", "high"]);
const SERVICE_TIERS = new Set(["auto", "default", "flex", "scale", "priority"]);
/** Of `include`, only the output text's logprobs can be honoured (the rest need built-in tools or state). */
const INCLUDABLE = new Set(["message.output_text.logprobs"]);

const isSet = (v: unknown) => v !== undefined && v !== null;

export function fromResponsesBody(
  body: unknown,
  workload = "",
  limits?: RequestLimits,
): { route: RouteRequest; options: ResponsesOptions } {
  check(isObject(body), "body", "must be a JSON object");
  for (const k of Object.keys(body))
    check(KNOWN.has(k), k.slice(0, 64), "is not a Responses API field this server knows");
  for (const [k, why] of Object.entries(REFUSED)) {
    const v = body[k];
    check(!isSet(v) || (Array.isArray(v) && v.length === 0), k, why);
  }
  check(bool(body.background, "background") !== true, "background", "background responses need server state");
  check(
    bool(body.store, "store") !== true,
    "store",
    "this server stores no responses (store: true is not supported)",
  );
  const truncation = str(body.truncation, "truncation");
  check(
    truncation === undefined || truncation === "disabled",
    "truncation",
    "only disabled: auto would drop context silently",
  );

  const models = strList(body.models, "models") ?? [];
  const model = str(body.model, "model") ?? models[0];
  check(model !== undefined, "model", "is required (or a non-empty models list)");
  const instructions = str(body.instructions, "instructions") ?? null;
  const messages = responsesMessages(body.instructions, body.input);
  const tools = responsesTools(body.tools, body.tool_choice);

  const params: Record<string, unknown> = { store: false };
  const maxOutput = num(body.max_output_tokens, "max_output_tokens");
  // Responses' limit counts reasoning tokens too: Chat Completions' max_completion_tokens.
  if (maxOutput !== undefined) {
    check(
      Number.isInteger(maxOutput) && maxOutput >= 1 && maxOutput <= LIMITS.maxTokens,
      "max_output_tokens",
      `must be an integer from 1 to ${LIMITS.maxTokens}`,
    );
    params.max_completion_tokens = maxOutput;
  }
  const parallel = bool(body.parallel_tool_calls, "parallel_tool_calls");
  if (parallel !== undefined && tools.tools) params.parallel_tool_calls = parallel;

  const logprobs = include(body.include);
  const topLogprobs = num(body.top_logprobs, "top_logprobs");
  if (topLogprobs !== undefined) {
    check(
      Number.isInteger(topLogprobs) && topLogprobs >= 0 && topLogprobs <= 20,
      "top_logprobs",
      "must be an integer from 0 to 20",
    );
    params.top_logprobs = topLogprobs;
  }
  if (logprobs || topLogprobs !== undefined) params.logprobs = true;

  const text = textConfig(body.text, params);
  const reasoning = reasoningConfig(body.reasoning, params);
  const echo: ResponseEcho = {
    instructions,
    metadata: labels(body.metadata),
    tools: tools.echo,
    tool_choice: tools.choiceEcho,
    parallel_tool_calls: parallel ?? true,
    temperature: num(body.temperature, "temperature") ?? null,
    top_p: num(body.top_p, "top_p") ?? null,
    max_output_tokens: maxOutput ?? null,
    top_logprobs: topLogprobs ?? null,
    text,
    reasoning,
  };
  for (const k of ["user", "safety_identifier", "prompt_cache_key"] as const) {
    const v = str(body[k], k);
    if (v !== undefined) params[k] = echo[k] = v;
  }
  const retention = str(body.prompt_cache_retention, "prompt_cache_retention");
  if (retention !== undefined) {
    check(
      retention === "in_memory" || retention === "24h",
      "prompt_cache_retention",
      "must be in_memory or 24h",
    );
    params.prompt_cache_retention = echo.prompt_cache_retention = retention;
  }
  const tier = str(body.service_tier, "service_tier");
  if (tier !== undefined) {
    check(SERVICE_TIERS.has(tier), "service_tier", "must be auto, default, flex, scale or priority");
    params.service_tier = echo.service_tier = tier;
  }

  const stream = bool(body.stream, "stream") ?? false;
  const so = body.stream_options;
  check(!isSet(so) || isObject(so), "stream_options", "must be an object");
  const soObj: JsonObject = isObject(so) ? so : {};
  for (const k of Object.keys(soObj))
    check(k === "include_obfuscation", `stream_options.${k.slice(0, 64)}`, "is not supported");
  const obfuscation = bool(soObj.include_obfuscation, "stream_options.include_obfuscation") ?? true;

  const route = validateRouteRequest(
    {
      model,
      models: models.filter((m) => m !== model),
      messages,
      provider: preferencesFromJson(body.provider),
      region: str(body.region, "region") ?? null,
      labels: echo.metadata,
      maxTokens: maxOutput,
      temperature: echo.temperature ?? undefined,
      topP: echo.top_p ?? undefined,
      tools: tools.tools,
      toolChoice: tools.toolChoice,
      params,
      workload,
    },
    limits,
  );
  return { route, options: { stream, obfuscation, logprobs: params.logprobs === true, echo } };
}

/** `metadata` (string → string) is the request's routing labels, as on the chat path. */
function labels(v: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (!isSet(v)) return out;
  check(isObject(v), "metadata", "must be an object of strings");
  for (const [k, val] of Object.entries(v)) out[k] = str(val, `metadata.${k.slice(0, 32)}`) ?? "";
  return out;
}

/** True when the output text's logprobs are asked for; any other entry is refused. */
function include(v: unknown): boolean {
  if (!isSet(v)) return false;
  check(Array.isArray(v), "include", "must be an array");
  v.forEach((e, i) =>
    check(
      typeof e === "string" && INCLUDABLE.has(e),
      `include[${i}]`,
      "only message.output_text.logprobs can be included",
    ),
  );
  return v.length > 0;
}

/** `text.format` → `response_format`, `text.verbosity` → `verbosity`. */
function textConfig(v: unknown, params: Record<string, unknown>): ResponseEcho["text"] {
  if (!isSet(v)) return { format: { type: "text" } };
  check(isObject(v), "text", "must be an object");
  for (const k of Object.keys(v))
    check(k === "format" || k === "verbosity", `text.${k.slice(0, 64)}`, "is not supported");
  const out: ResponseEcho["text"] = { format: { type: "text" } };
  const verbosity = str(v.verbosity, "text.verbosity");
  if (verbosity !== undefined) {
    check(VERBOSITY.has(verbosity), "text.verbosity", "must be low, medium or high");
    params.verbosity = out.verbosity = verbosity;
  }
  const f = v.format;
  if (!isSet(f)) return out;
  check(isObject(f), "text.format", "must be an object");
  if (f.type === "text") return out;
  if (f.type === "json_object") {
    params.response_format = { type: "json_object" };
    out.format = { type: "json_object" };
    return out;
  }
  check(f.type === "json_schema", "text.format.type", "must be text, json_object or json_schema");
  const name = str(f.name, "text.format.name");
  check(name !== undefined && name.length > 0, "text.format.name", "is required");
  check(isObject(f.schema), "text.format.schema", "must be a JSON Schema object");
  const description = str(f.description, "text.format.description");
  const strict = bool(f.strict, "text.format.strict");
  const schema: Record<string, unknown> = { name, schema: f.schema };
  if (description !== undefined) schema.description = description;
  if (strict !== undefined) schema.strict = strict;
  params.response_format = { type: "json_schema", json_schema: schema };
  out.format = { type: "json_schema", ...schema };
  return out;
}

/** `reasoning.effort` → `reasoning_effort`, `reasoning.summary` → `reasoning_summary`. */
function reasoningConfig(v: unknown, params: Record<string, unknown>): ResponseEcho["reasoning"] {
  const out: ResponseEcho["reasoning"] = { effort: null, summary: null };
  if (!isSet(v)) return out;
  check(isObject(v), "reasoning", "must be an object");
  const known = new Set(["effort", "summary", "generate_summary", "context", "mode"]);
  for (const k of Object.keys(v)) check(known.has(k), `reasoning.${k.slice(0, 64)}`, "is not supported");
  const context = str(v.context, "reasoning.context");
  check(
    context === undefined || context === "auto",
    "reasoning.context",
    "only auto: earlier reasoning is not kept",
  );
  const mode = str(v.mode, "reasoning.mode");
  check(mode === undefined || mode === "standard", "reasoning.mode", "only standard is supported");
  const effort = str(v.effort, "reasoning.effort");
  if (effort !== undefined) {
    check(EFFORTS.has(effort), "reasoning.effort", "must be none, minimal, low, medium, high, xhigh or max");
    params.reasoning_effort = out.effort = effort;
  }
  const summary =
    str(v.summary, "reasoning.summary") ?? str(v.generate_summary, "reasoning.generate_summary");
  if (summary !== undefined) {
    check(SUMMARIES.has(summary), "reasoning.summary", "must be auto, concise or detailed");
    params.reasoning_summary = out.summary = summary;
  }
  return out;
}
