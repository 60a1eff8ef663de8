import type { ChatRequest } from "../gen/sovereign/v1/router_pb.js";
import { DataCollection, SortBy, SortPartition } from "../gen/sovereign/v1/router_pb.js";
import type { ProviderPreferences, RouteRequest } from "../routing/types.js";
import type { UpstreamMessage, UpstreamTool } from "../upstream/types.js";
import { InvalidFieldError } from "./errors.js";

/**
 * Input limits, declared once and enforced on both APIs (gRPC/Connect and OpenAI-compatible
 * HTTP). A violation is InvalidArgument / HTTP 400 naming the field.
 */
export const LIMITS = {
  modelLength: 256,
  models: 16,
  messages: 1024,
  contentBytes: 1 << 20,
  totalContentBytes: 4 << 20,
  nameLength: 256,
  maxTokens: 1_000_000,
  stop: 4,
  stopLength: 256,
  tools: 128,
  toolSchemaBytes: 64 << 10,
  labels: 32,
  labelKeyLength: 64,
  labelValueLength: 256,
  preferenceList: 64,
  slugLength: 128,
} as const;

const ROLES = new Set(["system", "developer", "user", "assistant", "tool"]);
const SLUG = /^[A-Za-z0-9][A-Za-z0-9._:/-]*$/;
const REGION = /^[a-z]+(?:-[a-z0-9]+)*$/;

function check(cond: boolean, field: string, problem: string): asserts cond {
  if (!cond) throw new InvalidFieldError(field, problem);
}

function checkList(list: readonly string[] | undefined, field: string): void {
  if (!list) return;
  check(list.length <= LIMITS.preferenceList, field, `at most ${LIMITS.preferenceList} entries`);
  list.forEach((s, i) =>
    check(s.length > 0 && s.length <= LIMITS.slugLength && SLUG.test(s), `${field}[${i}]`, "must be a provider slug or endpoint id"),
  );
}

function checkNumber(v: number | undefined, field: string, min: number, max: number): void {
  if (v === undefined) return;
  check(Number.isFinite(v) && v >= min && v <= max, field, `must be between ${min} and ${max}`);
}

/** Validates a request against {@link LIMITS}; field names as the OpenAI-compatible API spells them. */
export function validateRouteRequest(req: RouteRequest): RouteRequest {
  check(req.model.length > 0, "model", "is required");
  check(req.model.length <= LIMITS.modelLength && SLUG.test(req.model), "model", "must be a model id like owner/name");
  check(req.models.length <= LIMITS.models, "models", `at most ${LIMITS.models} fallback models`);
  req.models.forEach((m, i) =>
    check(m.length > 0 && m.length <= LIMITS.modelLength && SLUG.test(m), `models[${i}]`, "must be a model id"),
  );
  check(req.messages.length <= LIMITS.messages, "messages", `at most ${LIMITS.messages} messages`);
  let total = 0;
  req.messages.forEach((m, i) => {
    check(ROLES.has(m.role), `messages[${i}].role`, "must be one of system, developer, user, assistant, tool");
    const bytes = Buffer.byteLength(m.content, "utf8");
    check(bytes <= LIMITS.contentBytes, `messages[${i}].content`, `at most ${LIMITS.contentBytes} bytes`);
    total += bytes;
    if (m.name !== undefined) check(m.name.length <= LIMITS.nameLength, `messages[${i}].name`, "too long");
  });
  check(total <= LIMITS.totalContentBytes, "messages", `total content at most ${LIMITS.totalContentBytes} bytes`);
  if (req.maxTokens !== undefined) {
    check(Number.isInteger(req.maxTokens) && req.maxTokens >= 1 && req.maxTokens <= LIMITS.maxTokens, "max_tokens", `must be an integer from 1 to ${LIMITS.maxTokens}`);
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
      check(t.function.name.length > 0 && t.function.name.length <= LIMITS.nameLength, `tools[${i}].function.name`, "is required");
      check(JSON.stringify(t.function.parameters ?? {}).length <= LIMITS.toolSchemaBytes, `tools[${i}].function.parameters`, "too large");
    });
  }
  if (req.region !== null) check(REGION.test(req.region) && req.region.length <= 32, "region", "must be a region slug like eu");
  const labels = Object.entries(req.labels);
  check(labels.length <= LIMITS.labels, "labels", `at most ${LIMITS.labels} labels`);
  for (const [k, v] of labels) {
    check(k.length > 0 && k.length <= LIMITS.labelKeyLength, `labels.${k.slice(0, 32)}`, "label key too long");
    check(v.length <= LIMITS.labelValueLength, `labels.${k}`, "label value too long");
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
  return req;
}

/** gRPC/Connect ChatRequest → RouteRequest (validated). */
export function fromProtoChatRequest(m: ChatRequest, opts: { requireMessages: boolean }): RouteRequest {
  if (opts.requireMessages) check(m.messages.length > 0, "messages", "at least one message is required");
  const p = m.provider;
  const sortBy = p?.sort?.by;
  check(sortBy === undefined || sortBy in SORT_BY, "provider.sort.by", "must be price, throughput or latency");
  const provider: ProviderPreferences = {
    allowFallbacks: p?.allowFallbacks ?? true,
    order: p?.order.length ? p.order : undefined,
    only: p?.only.length ? p.only : undefined,
    ignore: p?.ignore.length ? p.ignore : undefined,
    sort:
      sortBy
        ? { by: SORT_BY[sortBy]!, partition: p?.sort?.partition === SortPartition.NONE ? "none" : "model" }
        : undefined,
    maxPrice:
      p?.maxPrice && (p.maxPrice.prompt !== undefined || p.maxPrice.completion !== undefined)
        ? { prompt: p.maxPrice.prompt, completion: p.maxPrice.completion }
        : undefined,
    zdr: p?.zdr,
    dataCollection:
      p?.dataCollection === DataCollection.DENY ? "deny" : p?.dataCollection === DataCollection.ALLOW ? "allow" : undefined,
    requireParameters: p?.requireParameters,
    quantizations: p?.quantizations.length ? p.quantizations : undefined,
    preferredMinThroughput: p?.preferredMinThroughput,
    preferredMaxLatency: p?.preferredMaxLatency,
  };
  const messages: UpstreamMessage[] = m.messages.map((msg) => {
    const out: UpstreamMessage = { role: msg.role, content: msg.content };
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
    return { type: "function", function: { name: t.functionName, description: t.description || undefined, parameters } };
  });
  return validateRouteRequest({
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
    workload: m.workload,
  });
}

const SORT_BY: Partial<Record<number, "price" | "throughput" | "latency">> = {
  [SortBy.UNSPECIFIED]: undefined,
  [SortBy.PRICE]: "price",
  [SortBy.THROUGHPUT]: "throughput",
  [SortBy.LATENCY]: "latency",
};
