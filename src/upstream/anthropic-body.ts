import { UpstreamError } from "./errors.js";
import type { ContentPart, UpstreamMessage, UpstreamRequest } from "./types.js";

/**
 * Our request (OpenAI names, routing/parameters.ts) as an Anthropic Messages API body
 * (https://docs.anthropic.com/en/api/messages). What cannot be said in that API is refused as
 * an `UpstreamError("client")` before anything is sent, never dropped: the catalog declares in
 * `supported_parameters` only what is translated here, so the router sends nothing else.
 *
 * | ours | Anthropic |
 * |---|---|
 * | system / developer messages | top-level `system` (joined by a blank line) |
 * | `max_tokens` | `max_tokens` (required there: {@link DEFAULT_MAX_TOKENS} when absent) |
 * | `temperature` 0..1 | `temperature` (above 1 refused: Anthropic's range is 0..1) |
 * | `top_p`, `params.top_k` | `top_p`, `top_k` |
 * | `stop` | `stop_sequences` |
 * | `tools`, `tool_choice` | `tools[].input_schema`; auto/required/none/named → auto/any/none/tool |
 * | `params.parallel_tool_calls: false` | `tool_choice.disable_parallel_tool_use: true` |
 * | `params.user` | `metadata.user_id` |
 * | `params.reasoning_effort` | `thinking` (see {@link EFFORT_SHARE}); `none` → `{type: "disabled"}` |
 * | `params.response_format` json_schema | `output_config.format` (json_object refused) |
 * | `params.service_tier` auto / default | `service_tier` auto / standard_only |
 * | image part (base64 / URL) | `image` block, source base64 / url |
 * | file part (PDF) | `document` block, base64 PDF source; `filename` → `title` |
 * | tool message | `tool_result` block of a user turn (text and image content) |
 */

/** The Messages API requires `max_tokens`; this is used when the caller set none. */
export const DEFAULT_MAX_TOKENS = 4096;

/**
 * `reasoning_effort` → the share of `max_tokens` given to extended thinking as
 * `budget_tokens`: OpenRouter's documented ratios ("Reasoning Tokens": xhigh ≈95%, high ≈80%,
 * medium ≈50%, low ≈20%, minimal ≈10% of max_tokens). The budget is at least
 * {@link MIN_THINKING_BUDGET} (Anthropic's minimum) and must stay below `max_tokens`, which
 * counts the thinking too.
 */
export const EFFORT_SHARE: Readonly<Record<string, number>> = {
  minimal: 0.1,
  low: 0.2,
  medium: 0.5,
  high: 0.8,
  xhigh: 0.95,
};
export const MIN_THINKING_BUDGET = 1024;

const IMAGE_TYPES = new Set(["image/jpeg", "image/png", "image/gif", "image/webp"]);
/** Parameters that only name something about the request, not for the wire. */
const MARKERS = new Set(["max_completion_tokens"]);
const TRANSLATED = new Set([
  "top_k",
  "user",
  "parallel_tool_calls",
  "reasoning_effort",
  "response_format",
  "service_tier",
]);

type Block = Record<string, unknown> & { type: string };

function refuse(what: string): never {
  throw new UpstreamError("client", `the Anthropic API cannot take ${what}`);
}

export function toAnthropicBody(req: UpstreamRequest, stream: boolean): Record<string, unknown> {
  const system = req.messages
    .filter((m) => m.role === "system" || m.role === "developer")
    .map((m) => textOnly(m.content, "non-text parts in a system message"))
    .join("\n\n");
  const messages: { role: "user" | "assistant"; content: Block[] }[] = [];
  for (const m of req.messages) {
    const [role, blocks] = toTurn(m);
    if (blocks.length === 0) continue;
    const last = messages[messages.length - 1];
    // The API wants user and assistant turns to alternate: consecutive turns are merged.
    if (last?.role === role) last.content.push(...blocks);
    else messages.push({ role, content: blocks });
  }
  const maxTokens = req.max_tokens ?? DEFAULT_MAX_TOKENS;
  const body: Record<string, unknown> = { model: req.model, max_tokens: maxTokens, messages, stream };
  if (system) body.system = system;
  if (req.temperature !== undefined) {
    if (req.temperature > 1) refuse("a temperature above 1 (its range is 0 to 1)");
    body.temperature = req.temperature;
  }
  if (req.top_p !== undefined) body.top_p = req.top_p;
  if (req.stop?.length) body.stop_sequences = req.stop;
  if (req.seed !== undefined) refuse("seed");
  if (req.tools?.length) {
    body.tools = req.tools.map((t) => ({
      name: t.function.name,
      ...(t.function.description !== undefined ? { description: t.function.description } : {}),
      input_schema: t.function.parameters ?? { type: "object", properties: {} },
    }));
  }
  const p = req.params ?? {};
  for (const name in p) {
    if (p[name] !== undefined && !MARKERS.has(name) && !TRANSLATED.has(name)) refuse(name);
  }
  let choice = toolChoice(req.tool_choice);
  if (p.parallel_tool_calls === false && req.tools?.length && choice?.type !== "none")
    choice = { ...(choice ?? { type: "auto" }), disable_parallel_tool_use: true };
  if (choice) body.tool_choice = choice;
  if (p.top_k !== undefined) body.top_k = p.top_k;
  if (p.user !== undefined) body.metadata = { user_id: p.user };
  if (p.reasoning_effort !== undefined) body.thinking = thinking(p.reasoning_effort, maxTokens);
  const format = outputFormat(p.response_format);
  if (format) body.output_config = { format };
  if (p.service_tier !== undefined) body.service_tier = serviceTier(p.service_tier);
  return body;
}

function thinking(effort: unknown, maxTokens: number): Record<string, unknown> {
  if (effort === "none") return { type: "disabled" };
  const share = typeof effort === "string" ? EFFORT_SHARE[effort] : undefined;
  if (share === undefined) refuse("this reasoning_effort value");
  const budget = Math.max(MIN_THINKING_BUDGET, Math.floor(maxTokens * share));
  if (budget >= maxTokens)
    refuse(
      `reasoning with max_tokens of ${maxTokens} (thinking needs at least ${MIN_THINKING_BUDGET} tokens below max_tokens)`,
    );
  return { type: "enabled", budget_tokens: budget };
}

function outputFormat(rf: unknown): Record<string, unknown> | undefined {
  if (rf === undefined) return undefined;
  const r = rf as { type?: unknown; json_schema?: { schema?: unknown } };
  if (r.type === "text") return undefined;
  if (r.type !== "json_schema" || typeof r.json_schema?.schema !== "object")
    refuse("this response_format (only json_schema with a schema)");
  return { type: "json_schema", schema: r.json_schema.schema };
}

function serviceTier(tier: unknown): string {
  // Anthropic's tiers: "auto" (priority capacity when available) and "standard_only".
  if (tier === "auto") return "auto";
  if (tier === "default") return "standard_only";
  return refuse("this service_tier (only auto and default)");
}

function toolChoice(choice: unknown): Block | undefined {
  if (choice === undefined || choice === null) return undefined;
  if (choice === "auto") return { type: "auto" };
  if (choice === "required") return { type: "any" };
  if (choice === "none") return { type: "none" };
  // The gRPC API's string field may name a tool directly.
  if (typeof choice === "string") return { type: "tool", name: choice };
  const name = (choice as { function?: { name?: string } }).function?.name;
  return name ? { type: "tool", name } : refuse("this tool_choice");
}

function toTurn(m: UpstreamMessage): ["user" | "assistant", Block[]] {
  if (m.role === "system" || m.role === "developer") return ["user", []];
  if (m.role === "tool") {
    const content =
      typeof m.content === "string" ? m.content : m.content.map((p) => part(p, "a tool result"));
    return ["user", [{ type: "tool_result", tool_use_id: m.tool_call_id ?? "", content }]];
  }
  if (m.role === "assistant") {
    const text = textOnly(m.content, "non-text parts in an assistant message");
    const blocks: Block[] = text ? [{ type: "text", text }] : [];
    for (const t of m.tool_calls ?? [])
      blocks.push({
        type: "tool_use",
        id: t.id,
        name: t.function.name,
        input: toolInput(t.function.arguments),
      });
    return ["assistant", blocks];
  }
  if (typeof m.content === "string") return ["user", m.content ? [{ type: "text", text: m.content }] : []];
  return ["user", m.content.map((p) => part(p, "a user message"))];
}

/** One content part as a Messages API content block. */
function part(p: ContentPart, where: string): Block {
  switch (p.type) {
    case "text":
      return { type: "text", text: p.text };
    case "image":
      // No resolution hint exists in the Messages API: refused rather than ignored.
      if (p.detail === "low" || p.detail === "high") refuse(`image detail "${p.detail}"`);
      if (p.source.kind === "url") return { type: "image", source: { type: "url", url: p.source.url } };
      if (!IMAGE_TYPES.has(p.source.mediaType)) refuse("images other than JPEG, PNG, GIF or WebP");
      return {
        type: "image",
        source: { type: "base64", media_type: p.source.mediaType, data: p.source.data },
      };
    case "file":
      if (p.source.mediaType !== "application/pdf") refuse("files other than PDF");
      return {
        type: "document",
        source: { type: "base64", media_type: "application/pdf", data: p.source.data },
        ...(p.filename ? { title: p.filename } : {}),
      };
    case "audio":
      // Catalogs do not declare audio for Anthropic endpoints, so the router never sends it here.
      return refuse(`audio in ${where}`);
  }
}

function textOnly(content: UpstreamMessage["content"], what: string): string {
  if (typeof content === "string") return content;
  return content.map((p) => (p.type === "text" ? p.text : refuse(what))).join("");
}

/** A tool call's arguments (JSON text) as the `input` object Anthropic wants. */
function toolInput(text: string): unknown {
  if (text.trim() === "") return {};
  try {
    return JSON.parse(text);
  } catch {
    return refuse("tool call arguments that are not JSON");
  }
}
