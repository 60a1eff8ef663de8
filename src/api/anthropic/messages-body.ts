import type { RequestLimits } from "../../config/index.js";
import { bool, check, InvalidFieldError, isObject, num, str, strList } from "../../encoding/index.js";
import type { RouteRequest } from "../../routing/index.js";
import { preferencesFromJson } from "../../routing/index.js";
import type { UpstreamMessage, UpstreamTool } from "../../upstream/index.js";
import { validateRouteRequest } from "../grpc/index.js";
import { systemMessage, toMessages } from "./messages-content.js";

/**
 * An Anthropic Messages API body (`MessageCreateParams` of `@anthropic-ai/sdk`) → RouteRequest,
 * so that it can go to any upstream API. Every field is translated onto our (OpenAI-named)
 * request or refused naming it; unknown fields are refused too. Routing extensions as on the
 * chat path: OpenRouter's `provider`, `models` and `region`.
 *
 * | Messages API | ours |
 * |---|---|
 * | `model`, `max_tokens` (required), `temperature` (0..1), `top_p` | the same |
 * | `top_k` | `params.top_k` |
 * | `stop_sequences` | `stop` |
 * | `system`, `messages` | messages (messages-content.ts) |
 * | `tools` (custom tools) | function tools, `input_schema` as parameters |
 * | `tool_choice` auto / any / tool / none | auto / required / {function} / none |
 * | `tool_choice.disable_parallel_tool_use: true` | `params.parallel_tool_calls: false` |
 * | `metadata.user_id` | `params.user` |
 * | `thinking` enabled | `params.reasoning_effort`, from budget_tokens ÷ max_tokens ({@link effortOf}) |
 * | `thinking` disabled | nothing (no reasoning asked) |
 * | `output_config.format` json_schema | `params.response_format` json_schema, strict |
 * | `output_config.effort` low…xhigh | `params.reasoning_effort` |
 * | `service_tier` auto / standard_only | `params.service_tier` auto / default |
 * | `stream` | the response form |
 */

/** Fields refused with why; everything not listed here or in {@link FIELDS} is refused too. */
const REFUSED: Readonly<Record<string, string>> = {
  cache_control: "prompt caching is not supported (it would have the provider keep the prompt)",
  container: "containers (code execution) are not supported",
  mcp_servers: "MCP servers are not supported",
  context_management: "context management is not supported",
  diagnostics: "diagnostics are not supported",
  inference_geo: "is not supported; use `region` (the router's residency preference)",
  speed: "is not supported",
  user_profile_id: "is not supported",
  workspace_id: "is not supported",
};

const FIELDS = new Set([
  "model",
  "max_tokens",
  "messages",
  "system",
  "stop_sequences",
  "stream",
  "temperature",
  "top_p",
  "top_k",
  "tools",
  "tool_choice",
  "metadata",
  "thinking",
  "service_tier",
  "output_config",
  // Routing extensions (OpenRouter's names, as on /v1/chat/completions).
  "provider",
  "models",
  "region",
]);

/** The internal parameter → the Messages API field it came from (for unapplied-parameter names). */
export type FieldNames = Record<string, string>;

/**
 * `thinking.budget_tokens` ÷ `max_tokens` → `reasoning_effort`: the nearest of the shares the
 * Anthropic adapter gives each effort (upstream/anthropic-body.ts, OpenRouter's ratios: minimal
 * 10%, low 20%, medium 50%, high 80%, xhigh 95%), cut at the midpoints.
 */
export function effortOf(budget: number, maxTokens: number): string {
  const share = budget / maxTokens;
  if (share >= 0.875) return "xhigh";
  if (share >= 0.65) return "high";
  if (share >= 0.35) return "medium";
  if (share >= 0.15) return "low";
  return "minimal";
}

export function fromMessagesBody(
  body: unknown,
  workload = "",
  limits?: RequestLimits,
): { route: RouteRequest; stream: boolean; fieldNames: FieldNames } {
  check(isObject(body), "body", "must be a JSON object");
  for (const [k, v] of Object.entries(body)) {
    if (FIELDS.has(k) || v === undefined || v === null) continue;
    throw new InvalidFieldError(k.slice(0, 64), REFUSED[k] ?? "is not a supported field");
  }
  const params: Record<string, unknown> = {};
  const fieldNames: FieldNames = { stop: "stop_sequences" };
  const models = strList(body.models, "models") ?? [];
  const model = str(body.model, "model") ?? models[0];
  check(model !== undefined, "model", "is required");
  const maxTokens = num(body.max_tokens, "max_tokens");
  check(maxTokens !== undefined, "max_tokens", "is required");
  check(Number.isInteger(maxTokens) && maxTokens >= 1, "max_tokens", "must be an integer of at least 1");
  const temperature = num(body.temperature, "temperature");
  check(
    temperature === undefined || (temperature >= 0 && temperature <= 1),
    "temperature",
    "must be between 0 and 1",
  );
  const topK = num(body.top_k, "top_k");
  if (topK !== undefined) {
    check(Number.isInteger(topK) && topK >= 0, "top_k", "must be a non-negative integer");
    params.top_k = topK;
  }
  check(Array.isArray(body.messages), "messages", "must be an array");
  check(body.messages.length > 0, "messages", "at least one message is required");
  const messages: UpstreamMessage[] = [];
  const origin: number[] = [];
  const system = systemMessage(body.system);
  if (system) {
    messages.push(system);
    origin.push(-1);
  }
  body.messages.forEach((m, i) => toMessages(m, i, messages, origin));
  const tools = toolsOf(body.tools);
  const toolChoice = toolChoiceOf(body.tool_choice, params, fieldNames);
  if (body.metadata !== undefined && body.metadata !== null) {
    check(isObject(body.metadata), "metadata", "must be an object");
    for (const k of Object.keys(body.metadata))
      check(k === "user_id", `metadata.${k.slice(0, 32)}`, "is not supported");
    const user = str(body.metadata.user_id, "metadata.user_id");
    if (user !== undefined) {
      params.user = user;
      fieldNames.user = "metadata.user_id";
    }
  }
  thinkingOf(body.thinking, maxTokens, params, fieldNames);
  outputConfigOf(body.output_config, params, fieldNames);
  if (body.service_tier !== undefined && body.service_tier !== null) {
    check(
      body.service_tier === "auto" || body.service_tier === "standard_only",
      "service_tier",
      "must be auto or standard_only",
    );
    params.service_tier = body.service_tier === "auto" ? "auto" : "default";
  }
  const input: RouteRequest = {
    model,
    models: models.filter((m) => m !== model),
    messages,
    provider: preferencesFromJson(body.provider),
    region: str(body.region, "region") ?? null,
    labels: {},
    maxTokens,
    temperature,
    topP: num(body.top_p, "top_p"),
    stop: strList(body.stop_sequences, "stop_sequences"),
    tools,
    toolChoice,
    ...(Object.keys(params).length > 0 ? { params } : {}),
    workload,
  };
  let route: RouteRequest;
  try {
    route = validateRouteRequest(input, limits);
  } catch (err) {
    throw err instanceof InvalidFieldError
      ? new InvalidFieldError(anthropicField(err.field, origin), err.problem)
      : err;
  }
  return { route, stream: bool(body.stream, "stream") ?? false, fieldNames };
}

function toolsOf(v: unknown): UpstreamTool[] | undefined {
  if (v === undefined || v === null) return undefined;
  check(Array.isArray(v), "tools", "must be an array");
  if (v.length === 0) return undefined;
  return v.map((t, i) => {
    const f = `tools[${i}]`;
    check(isObject(t), f, "must be a tool");
    check(
      t.type === undefined || t.type === null || t.type === "custom",
      `${f}.type`,
      "server tools are not supported; only custom tools with an input_schema",
    );
    for (const [k, val] of Object.entries(t)) {
      if (["type", "name", "description", "input_schema"].includes(k)) continue;
      // `strict: false` is the default; the rest changes how the tool is called or cached.
      if (val === null || val === undefined || (k === "strict" && val === false)) continue;
      throw new InvalidFieldError(`${f}.${k}`, "is not supported");
    }
    const name = str(t.name, `${f}.name`);
    check(name !== undefined, `${f}.name`, "is required");
    check(isObject(t.input_schema), `${f}.input_schema`, "is required (a JSON Schema object)");
    return {
      type: "function" as const,
      function: { name, description: str(t.description, `${f}.description`), parameters: t.input_schema },
    };
  });
}

function toolChoiceOf(v: unknown, params: Record<string, unknown>, names: FieldNames): unknown {
  if (v === undefined || v === null) return undefined;
  check(isObject(v), "tool_choice", "must be {type: auto | any | tool | none}");
  for (const k of Object.keys(v))
    check(
      ["type", "name", "disable_parallel_tool_use"].includes(k),
      `tool_choice.${k.slice(0, 32)}`,
      "is not supported",
    );
  const parallel = bool(v.disable_parallel_tool_use, "tool_choice.disable_parallel_tool_use");
  if (parallel) {
    check(v.type !== "none", "tool_choice.disable_parallel_tool_use", "is not allowed with type none");
    params.parallel_tool_calls = false;
    names.parallel_tool_calls = "tool_choice.disable_parallel_tool_use";
  }
  if (v.type === "auto") return "auto";
  if (v.type === "any") return "required";
  if (v.type === "none") return "none";
  check(v.type === "tool", "tool_choice.type", "must be auto, any, tool or none");
  const name = str(v.name, "tool_choice.name");
  check(name !== undefined, "tool_choice.name", "is required with type tool");
  return { type: "function", function: { name } };
}

function thinkingOf(v: unknown, maxTokens: number, params: Record<string, unknown>, names: FieldNames): void {
  if (v === undefined || v === null) return;
  check(isObject(v), "thinking", "must be {type: enabled, budget_tokens} or {type: disabled}");
  check(v.display === undefined || v.display === null, "thinking.display", "is not supported");
  if (v.type === "disabled") return;
  check(v.type === "enabled", "thinking.type", "must be enabled or disabled");
  for (const k of Object.keys(v))
    check(["type", "budget_tokens", "display"].includes(k), `thinking.${k.slice(0, 32)}`, "is not supported");
  const budget = num(v.budget_tokens, "thinking.budget_tokens");
  check(
    budget !== undefined && Number.isInteger(budget) && budget >= 1024 && budget < maxTokens,
    "thinking.budget_tokens",
    "must be an integer of at least 1024 and below max_tokens",
  );
  params.reasoning_effort = effortOf(budget, maxTokens);
  names.reasoning_effort = "thinking";
}

const EFFORTS = new Set(["low", "medium", "high", "xhigh"]);

function outputConfigOf(v: unknown, params: Record<string, unknown>, names: FieldNames): void {
  if (v === undefined || v === null) return;
  check(isObject(v), "output_config", "must be an object");
  for (const k of Object.keys(v))
    check(k === "format" || k === "effort", `output_config.${k.slice(0, 32)}`, "is not supported");
  if (v.format !== undefined && v.format !== null) {
    const f = v.format;
    check(isObject(f) && f.type === "json_schema", "output_config.format.type", "must be json_schema");
    check(isObject(f.schema), "output_config.format.schema", "is required (a JSON Schema object)");
    params.response_format = {
      type: "json_schema",
      json_schema: { name: "output", schema: f.schema, strict: true },
    };
    names.response_format = "output_config.format";
  }
  if (v.effort !== undefined && v.effort !== null) {
    check(
      typeof v.effort === "string" && EFFORTS.has(v.effort),
      "output_config.effort",
      "must be low, medium, high or xhigh",
    );
    check(params.reasoning_effort === undefined, "output_config.effort", "cannot be combined with thinking");
    params.reasoning_effort = v.effort;
    names.reasoning_effort = "output_config.effort";
  }
}

/**
 * A field as validateRouteRequest names it (OpenAI's names, our message list) → the Messages
 * API's: `messages[k]` → the Anthropic message it came from (or `system`), `stop` →
 * `stop_sequences`, `tools[i].function.parameters` → `tools[i].input_schema`.
 */
function anthropicField(field: string, origin: readonly number[]): string {
  const m = /^messages\[(\d+)\](.*)$/.exec(field);
  if (m) {
    const from = origin[Number(m[1])];
    const rest = m[2]!.startsWith(".tool_calls") || m[2]!.startsWith(".content") ? ".content" : "";
    return from === undefined ? "messages" : from < 0 ? "system" : `messages[${from}]${rest}`;
  }
  return field
    .replace(/^stop\b/, "stop_sequences")
    .replace(/^tools\[(\d+)\]\.function\.parameters/, "tools[$1].input_schema")
    .replace(/^tools\[(\d+)\]\.function\./, "tools[$1].");
}
