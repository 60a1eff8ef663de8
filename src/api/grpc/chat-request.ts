import { LIMITS } from "../../config/index.js";
import { bool, check, isObject, num, str, strList } from "../../encoding/index.js";
import type { ChatRequest } from "../../gen/sovereign/v1/router_pb.js";
import type { RouteRequest } from "../../routing/index.js";
import { preferencesFromJson, preferencesFromProto } from "../../routing/index.js";
import type { UpstreamMessage, UpstreamTool } from "../../upstream/index.js";
import { jsonTooDeep } from "../compat/index.js";
import { InvalidFieldError } from "./errors.js";
import { protoContent, protoFieldPath, protoParams } from "./proto-chat-params.js";

const ROLES = new Set(["system", "developer", "user", "assistant", "tool"]);
const SLUG = /^[A-Za-z0-9][A-Za-z0-9._:/-]*$/;
const REGION = /^[a-z]+(?:-[a-z0-9]+)*$/;
const TOOL_CHOICES = new Set(["none", "auto", "required"]);
/** A UTF-16 surrogate without its pair: not Unicode text, and not representable in UTF-8. */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

function checkList(list: readonly string[] | undefined, field: string): void {
  if (!list) return;
  check(list.length <= LIMITS.preferenceList, field, `at most ${LIMITS.preferenceList} entries`);
  list.forEach((s, i) =>
    check(
      s.length > 0 && s.length <= LIMITS.slugLength && SLUG.test(s),
      `${field}[${i}]`,
      "must be a provider slug or endpoint id",
    ),
  );
}

/** Strings that reach decision records (canonical JSON, signed) must be well-formed Unicode. */
function checkText(v: string, field: string): void {
  check(!LONE_SURROGATE.test(v), field, "must be valid Unicode text (lone surrogate)");
}

function checkNumber(v: number | undefined, field: string, min: number, max: number): void {
  if (v === undefined) return;
  check(Number.isFinite(v) && v >= min && v <= max, field, `must be between ${min} and ${max}`);
}

/** Validates a request against {@link LIMITS}; field names as the OpenAI-compatible API spells them. */
export function validateRouteRequest(req: RouteRequest): RouteRequest {
  check(req.model.length > 0, "model", "is required");
  check(
    req.model.length <= LIMITS.modelLength && SLUG.test(req.model),
    "model",
    "must be a model id like owner/name",
  );
  check(req.models.length <= LIMITS.models, "models", `at most ${LIMITS.models} fallback models`);
  req.models.forEach((m, i) =>
    check(
      m.length > 0 && m.length <= LIMITS.modelLength && SLUG.test(m),
      `models[${i}]`,
      "must be a model id",
    ),
  );
  check(req.messages.length <= LIMITS.messages, "messages", `at most ${LIMITS.messages} messages`);
  let total = 0;
  req.messages.forEach((m, i) => {
    check(
      ROLES.has(m.role),
      `messages[${i}].role`,
      "must be one of system, developer, user, assistant, tool",
    );
    const bytes =
      typeof m.content === "string"
        ? Buffer.byteLength(m.content, "utf8")
        : m.content.reduce((n, p) => n + (p.type === "text" ? Buffer.byteLength(p.text, "utf8") : 0), 0);
    check(bytes <= LIMITS.contentBytes, `messages[${i}].content`, `at most ${LIMITS.contentBytes} bytes`);
    total += bytes;
    if (m.name !== undefined) check(m.name.length <= LIMITS.nameLength, `messages[${i}].name`, "too long");
    if (m.tool_call_id !== undefined)
      check(m.tool_call_id.length <= LIMITS.idLength, `messages[${i}].tool_call_id`, "too long");
    if (m.tool_calls) {
      check(
        m.tool_calls.length <= LIMITS.toolCalls,
        `messages[${i}].tool_calls`,
        `at most ${LIMITS.toolCalls} tool calls`,
      );
      m.tool_calls.forEach((c, j) => {
        const f = `messages[${i}].tool_calls[${j}]`;
        check(c.id.length <= LIMITS.idLength, `${f}.id`, "too long");
        check(c.function.name.length <= LIMITS.nameLength, `${f}.function.name`, "too long");
        const args = Buffer.byteLength(c.function.arguments, "utf8");
        check(
          args <= LIMITS.toolArgumentsBytes,
          `${f}.function.arguments`,
          `at most ${LIMITS.toolArgumentsBytes} bytes`,
        );
        total += args;
      });
    }
  });
  check(
    total <= LIMITS.totalContentBytes,
    "messages",
    `total content at most ${LIMITS.totalContentBytes} bytes`,
  );
  if (req.maxTokens !== undefined) {
    check(
      Number.isInteger(req.maxTokens) && req.maxTokens >= 1 && req.maxTokens <= LIMITS.maxTokens,
      "max_tokens",
      `must be an integer from 1 to ${LIMITS.maxTokens}`,
    );
  }
  checkNumber(req.temperature, "temperature", 0, 2);
  checkNumber(req.topP, "top_p", 0, 1);
  if (req.stop) {
    check(req.stop.length <= LIMITS.stop, "stop", `at most ${LIMITS.stop} sequences`);
    req.stop.forEach((s, i) => check(s.length <= LIMITS.stopLength, `stop[${i}]`, "too long"));
  }
  if (req.tools) {
    check(req.tools.length <= LIMITS.tools, "tools", `at most ${LIMITS.tools} tools`);
    req.tools.forEach((t, i) => {
      check(
        t.function.name.length > 0 && t.function.name.length <= LIMITS.nameLength,
        `tools[${i}].function.name`,
        "is required",
      );
      check(
        !jsonTooDeep(t.function.parameters, LIMITS.jsonDepth),
        `tools[${i}].function.parameters`,
        `nested deeper than ${LIMITS.jsonDepth} levels`,
      );
      check(
        JSON.stringify(t.function.parameters ?? {}).length <= LIMITS.toolSchemaBytes,
        `tools[${i}].function.parameters`,
        "too large",
      );
      check(
        (t.function.description ?? "").length <= LIMITS.descriptionLength,
        `tools[${i}].function.description`,
        `at most ${LIMITS.descriptionLength} characters`,
      );
    });
  }
  if (req.toolChoice !== undefined) {
    check(!jsonTooDeep(req.toolChoice, 4), "tool_choice", "nested deeper than 4 levels");
    // OpenAI's values: "none" | "auto" | "required" | {type: "function", function: {name}} naming a
    // declared tool; the proto's string field may also just name one.
    const tc = req.toolChoice as { type?: unknown; function?: { name?: unknown } } | string | null;
    const named =
      typeof tc === "object" && tc !== null && tc.type === "function" && typeof tc.function?.name === "string"
        ? tc.function.name
        : undefined;
    const tool = typeof tc === "string" && !TOOL_CHOICES.has(tc) ? tc : named;
    check(
      (typeof tc === "string" && TOOL_CHOICES.has(tc)) ||
        (tool !== undefined && (req.tools ?? []).some((t) => t.function.name === tool)),
      "tool_choice",
      "must be none, auto, required or {type: function, function: {name}} naming one of the tools",
    );
  }
  if (req.seed !== undefined)
    check(Number.isSafeInteger(req.seed), "seed", "must be an integer within ±2^53");
  if (req.region !== null)
    check(REGION.test(req.region) && req.region.length <= 32, "region", "must be a region slug like eu");
  const labels = Object.entries(req.labels);
  check(labels.length <= LIMITS.labels, "labels", `at most ${LIMITS.labels} labels`);
  for (const [k, v] of labels) {
    check(
      k.length > 0 && k.length <= LIMITS.labelKeyLength,
      `labels.${k.slice(0, 32)}`,
      "label key must be 1 to 64 characters",
    );
    checkText(k, `labels.${k.slice(0, 32)}`);
    check(v.length <= LIMITS.labelValueLength, `labels.${k}`, "label value too long");
    checkText(v, `labels.${k}`);
  }
  const p = req.provider;
  checkList(p.order, "provider.order");
  checkList(p.only, "provider.only");
  checkList(p.ignore, "provider.ignore");
  checkList(p.quantizations, "provider.quantizations");
  checkNumber(p.maxPrice?.prompt, "provider.max_price.prompt", 0, 1e6);
  checkNumber(p.maxPrice?.completion, "provider.max_price.completion", 0, 1e6);
  checkNumber(p.preferredMinThroughput, "provider.preferred_min_throughput", 0, 1e6);
  checkNumber(p.preferredMaxLatency, "provider.preferred_max_latency", 0, 3600);
  check(req.workload.length <= LIMITS.nameLength, "workload", "too long");
  checkText(req.workload, "workload");
  return req;
}

/** gRPC/Connect ChatRequest → RouteRequest (validated). */
export function fromProtoChatRequest(m: ChatRequest, opts: { requireMessages: boolean }): RouteRequest {
  if (opts.requireMessages) check(m.messages.length > 0, "messages", "at least one message is required");
  const provider = preferencesFromProto(m.provider);
  const messages: UpstreamMessage[] = m.messages.map((msg, i) => {
    const out: UpstreamMessage = { role: msg.role, content: protoContent(msg, `messages[${i}]`) };
    if (msg.name) out.name = msg.name;
    if (msg.toolCallId) out.tool_call_id = msg.toolCallId;
    if (msg.toolCalls.length > 0) {
      out.tool_calls = msg.toolCalls.map((t) => ({
        id: t.id,
        type: "function" as const,
        function: { name: t.functionName, arguments: t.functionArguments },
      }));
    }
    return out;
  });
  const tools: UpstreamTool[] = m.tools.map((t, i) => {
    let parameters: unknown;
    if (t.parametersJson) {
      try {
        parameters = JSON.parse(t.parametersJson);
      } catch {
        throw new InvalidFieldError(`tools[${i}].parameters_json`, "must be JSON");
      }
    }
    return {
      type: "function",
      function: { name: t.functionName, description: t.description || undefined, parameters },
    };
  });
  const params = protoParams(m);
  const route: RouteRequest = {
    model: m.model,
    models: m.models,
    messages,
    provider,
    region: m.region || null,
    labels: m.labels,
    maxTokens: m.maxTokens,
    temperature: m.temperature,
    topP: m.topP,
    stop: m.stop.length ? m.stop : undefined,
    tools: tools.length ? tools : undefined,
    toolChoice: m.toolChoice || undefined,
    seed: m.seed === undefined ? undefined : Number(m.seed),
    ...(params ? { params } : {}),
    workload: m.workload,
  };
  try {
    return validateRouteRequest(route);
  } catch (err) {
    // The shared validator names fields the OpenAI way; a gRPC caller needs the proto's names.
    if (err instanceof InvalidFieldError)
      throw new InvalidFieldError(protoFieldPath(err.field, m), err.problem);
    throw err;
  }
}

// ---- OpenAI-compatible HTTP body (OpenRouter's extensions: `provider`, `models`, `region`) ----

/** OpenAI content: a string, or text parts (other part types are not routed). */
function content(v: unknown, field: string): string {
  if (v === undefined || v === null) return "";
  if (typeof v === "string") return v;
  check(Array.isArray(v), field, "must be a string or an array of content parts");
  return v
    .map((part, i) => {
      check(
        isObject(part) && part.type === "text" && typeof part.text === "string",
        `${field}[${i}]`,
        "only text parts are supported",
      );
      return part.text as string;
    })
    .join("");
}

function message(v: unknown, i: number): UpstreamMessage {
  const f = `messages[${i}]`;
  check(isObject(v), f, "must be an object");
  const role = str(v.role, `${f}.role`);
  check(role !== undefined, `${f}.role`, "is required");
  const out: UpstreamMessage = { role, content: content(v.content, `${f}.content`) };
  const name = str(v.name, `${f}.name`);
  if (name) out.name = name;
  const toolCallId = str(v.tool_call_id, `${f}.tool_call_id`);
  if (toolCallId) out.tool_call_id = toolCallId;
  if (v.tool_calls !== undefined && v.tool_calls !== null) {
    check(Array.isArray(v.tool_calls), `${f}.tool_calls`, "must be an array");
    out.tool_calls = v.tool_calls.map((t, j) => {
      const tf = `${f}.tool_calls[${j}]`;
      check(isObject(t) && isObject(t.function), tf, "must be {id, type, function: {name, arguments}}");
      return {
        id: str(t.id, `${tf}.id`) ?? "",
        type: "function" as const,
        function: {
          name: str(t.function.name, `${tf}.function.name`) ?? "",
          arguments: str(t.function.arguments, `${tf}.function.arguments`) ?? "",
        },
      };
    });
  }
  return out;
}

function tool(v: unknown, i: number): UpstreamTool {
  const f = `tools[${i}]`;
  check(
    isObject(v) && (v.type === undefined || v.type === "function") && isObject(v.function),
    f,
    "must be {type: function, function: {...}}",
  );
  const name = str(v.function.name, `${f}.function.name`);
  check(name !== undefined, `${f}.function.name`, "is required");
  return {
    type: "function",
    function: {
      name,
      description: str(v.function.description, `${f}.function.description`),
      parameters: v.function.parameters,
    },
  };
}

export interface OpenAIChatOptions {
  stream: boolean;
  includeUsage: boolean;
}

/**
 * An OpenAI Chat Completions body (with OpenRouter's `provider`, `models` and `region`) →
 * RouteRequest (validated) and the response options. `metadata` (string → string) becomes the
 * request's labels. Unknown fields are ignored, as OpenAI-compatible servers do; `n` > 1 is
 * refused because one route gives one choice.
 */
export function fromOpenAIChatBody(
  body: unknown,
  workload = "",
): { route: RouteRequest; options: OpenAIChatOptions } {
  check(isObject(body), "body", "must be a JSON object");
  const models = strList(body.models, "models") ?? [];
  const model = str(body.model, "model") ?? models[0];
  check(model !== undefined, "model", "is required (or a non-empty models list)");
  check(Array.isArray(body.messages), "messages", "must be an array");
  check(body.messages.length > 0, "messages", "at least one message is required");
  const n = num(body.n, "n");
  check(n === undefined || n === 1, "n", "only 1 choice is supported");
  let stop = body.stop;
  if (typeof stop === "string") stop = [stop];
  const labels: Record<string, string> = {};
  if (body.metadata !== undefined && body.metadata !== null) {
    check(isObject(body.metadata), "metadata", "must be an object of strings");
    for (const [k, v] of Object.entries(body.metadata))
      labels[k] = str(v, `metadata.${k.slice(0, 32)}`) ?? "";
  }
  const maxTokens =
    num(body.max_completion_tokens, "max_completion_tokens") ?? num(body.max_tokens, "max_tokens");
  const seed = num(body.seed, "seed");
  check(seed === undefined || Number.isSafeInteger(seed), "seed", "must be an integer");
  check(
    body.tools === undefined || body.tools === null || Array.isArray(body.tools),
    "tools",
    "must be an array",
  );
  const stream = bool(body.stream, "stream") ?? false;
  const streamOptions = body.stream_options;
  check(
    streamOptions === undefined || streamOptions === null || isObject(streamOptions),
    "stream_options",
    "must be an object",
  );
  const route = validateRouteRequest({
    model,
    models: models.filter((m) => m !== model),
    messages: body.messages.map(message),
    provider: preferencesFromJson(body.provider),
    region: str(body.region, "region") ?? null,
    labels,
    maxTokens,
    temperature: num(body.temperature, "temperature"),
    topP: num(body.top_p, "top_p"),
    stop: strList(stop, "stop"),
    tools: Array.isArray(body.tools) && body.tools.length > 0 ? body.tools.map(tool) : undefined,
    toolChoice: body.tool_choice ?? undefined,
    seed,
    workload,
  });
  return {
    route,
    options: { stream, includeUsage: isObject(streamOptions) && streamOptions.include_usage === true },
  };
}
