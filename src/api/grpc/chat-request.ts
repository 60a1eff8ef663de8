import { DEFAULT_REQUEST_LIMITS, LIMITS, type RequestLimits } from "../../config/index.js";
import { check } from "../../encoding/index.js";
import type { ChatRequest } from "../../gen/sovereign/v1/router_pb.js";
import type { RouteRequest } from "../../routing/index.js";
import { preferencesFromProto } from "../../routing/index.js";
import type { UpstreamMessage, UpstreamTool } from "../../upstream/index.js";
import { jsonTooDeep } from "../compat/index.js";
import { checkContent } from "./chat-content.js";
import { validateParams } from "./chat-params.js";
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

/**
 * Validates a request against {@link LIMITS} and the media part limits (`limits`): content
 * parts, core fields and every `params` value (chat-params.ts); field names as the
 * OpenAI-compatible API spells them.
 */
export function validateRouteRequest(
  req: RouteRequest,
  limits: RequestLimits = DEFAULT_REQUEST_LIMITS,
): RouteRequest {
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
    const bytes = checkContent(m, i, limits) + (m.refusal ? Buffer.byteLength(m.refusal, "utf8") : 0);
    if (m.refusal !== undefined)
      check(m.role === "assistant", `messages[${i}].refusal`, "only an assistant message carries a refusal");
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
      if (t.function.strict !== undefined)
        check(typeof t.function.strict === "boolean", `tools[${i}].function.strict`, "must be true or false");
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
  if (req.params) validateParams(req.params);
  check(req.workload.length <= LIMITS.nameLength, "workload", "too long");
  checkText(req.workload, "workload");
  return req;
}

/** gRPC/Connect ChatRequest → RouteRequest (validated). */
export function fromProtoChatRequest(
  m: ChatRequest,
  opts: { requireMessages: boolean; limits?: RequestLimits },
): RouteRequest {
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
    return validateRouteRequest(route, opts.limits);
  } catch (err) {
    // The shared validator names fields the OpenAI way; a gRPC caller needs the proto's names.
    if (err instanceof InvalidFieldError)
      throw new InvalidFieldError(protoFieldPath(err.field, m), err.problem);
    throw err;
  }
}
