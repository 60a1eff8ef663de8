import { check, isObject, type JsonObject, str } from "../../encoding/index.js";
import type { ContentPart, UpstreamMessage } from "../../upstream/index.js";

/**
 * Messages API `messages` (and `system`) → our messages, by content block:
 *
 * | block | becomes |
 * |---|---|
 * | `text` | a text part |
 * | `image` base64 (JPEG, PNG, GIF, WebP) / url | an image part, base64 / URL (never fetched here) |
 * | `document` base64 PDF | a file part; `title` → its filename |
 * | `tool_use` (assistant) | a tool call, `input` as JSON text |
 * | `tool_result` (user) | a `tool` message before the user's other parts (text, images) |
 * | `thinking`, `redacted_thinking` (assistant) | left out, as Anthropic's API leaves earlier turns' thinking out of the context; the router carries no thinking signatures |
 *
 * Everything else is refused naming the field: `cache_control` (prompt caching would have the
 * provider keep the prompt; not routed), citations, Files API ids, PDFs by URL, plain-text
 * documents, server-tool blocks, `is_error` tool results (no equivalent in the other APIs).
 */

const IMAGE_TYPES = new Set(["image/jpeg", "image/png", "image/gif", "image/webp"]);
const ROLES = new Set(["user", "assistant", "system"]);

/** Fields a block may carry only as null / absent, with why. */
function refuseSet(b: JsonObject, f: string, fields: Record<string, string>): void {
  for (const [k, why] of Object.entries(fields)) check(b[k] === undefined || b[k] === null, `${f}.${k}`, why);
}

const CACHE = {
  cache_control: "prompt caching is not supported (it would have the provider keep the prompt)",
};

function onlyKeys(b: JsonObject, f: string, keys: readonly string[]): void {
  for (const k of Object.keys(b)) check(keys.includes(k), `${f}.${k}`, "is not supported");
}

function text(b: JsonObject, f: string): ContentPart {
  onlyKeys(b, f, ["type", "text", "cache_control", "citations"]);
  refuseSet(b, f, { ...CACHE, citations: "citations are not supported" });
  const t = str(b.text, `${f}.text`);
  check(t !== undefined, `${f}.text`, "is required");
  return { type: "text", text: t };
}

function image(b: JsonObject, f: string): ContentPart {
  onlyKeys(b, f, ["type", "source", "cache_control", "transformations"]);
  refuseSet(b, f, { ...CACHE, transformations: "image transformations are not supported" });
  const s = b.source;
  check(isObject(s), `${f}.source`, "is required");
  if (s.type === "url") {
    const url = str(s.url, `${f}.source.url`);
    check(url !== undefined && /^https?:\/\//i.test(url), `${f}.source.url`, "must be an http(s) URL");
    return { type: "image", source: { kind: "url", url } };
  }
  check(s.type === "base64", `${f}.source.type`, "must be base64 or url (Files API ids are not supported)");
  const mediaType = str(s.media_type, `${f}.source.media_type`);
  check(
    mediaType !== undefined && IMAGE_TYPES.has(mediaType),
    `${f}.source.media_type`,
    "must be image/jpeg, image/png, image/gif or image/webp",
  );
  const data = str(s.data, `${f}.source.data`);
  check(data !== undefined && data.length > 0, `${f}.source.data`, "is required");
  return { type: "image", source: { kind: "base64", mediaType, data } };
}

function document(b: JsonObject, f: string): ContentPart {
  onlyKeys(b, f, ["type", "source", "title", "context", "citations", "cache_control"]);
  refuseSet(b, f, {
    ...CACHE,
    context: "document context is not supported",
    citations: "citations are not supported",
  });
  const s = b.source;
  check(isObject(s), `${f}.source`, "is required");
  check(
    s.type === "base64" && s.media_type === "application/pdf",
    `${f}.source`,
    "only base64 PDF documents are supported",
  );
  const data = str(s.data, `${f}.source.data`);
  check(data !== undefined && data.length > 0, `${f}.source.data`, "is required");
  const title = str(b.title, `${f}.title`);
  return {
    type: "file",
    source: { kind: "base64", mediaType: "application/pdf", data },
    ...(title ? { filename: title } : {}),
  };
}

function toolResult(b: JsonObject, f: string): UpstreamMessage {
  onlyKeys(b, f, ["type", "tool_use_id", "content", "is_error", "cache_control"]);
  refuseSet(b, f, CACHE);
  check(b.is_error !== true, `${f}.is_error`, "error tool results are not supported");
  const id = str(b.tool_use_id, `${f}.tool_use_id`);
  check(id !== undefined && id.length > 0, `${f}.tool_use_id`, "is required");
  let content: string | ContentPart[] = "";
  if (typeof b.content === "string") content = b.content;
  else if (b.content !== undefined && b.content !== null) {
    check(Array.isArray(b.content), `${f}.content`, "must be a string or text and image blocks");
    content = b.content.map((c, k) => {
      const cf = `${f}.content[${k}]`;
      check(isObject(c), cf, "must be a content block");
      if (c.type === "text") return text(c, cf);
      check(c.type === "image", `${cf}.type`, "tool results may carry text and image blocks");
      return image(c, cf);
    });
  }
  return { role: "tool", tool_call_id: id, content };
}

type ToolCall = NonNullable<UpstreamMessage["tool_calls"]>[number];

function toolUse(b: JsonObject, f: string): ToolCall {
  onlyKeys(b, f, ["type", "id", "name", "input", "cache_control", "caller", "toolset_name"]);
  refuseSet(b, f, {
    ...CACHE,
    caller: "programmatic tool calling is not supported",
    toolset_name: "toolsets are not supported",
  });
  const id = str(b.id, `${f}.id`);
  const name = str(b.name, `${f}.name`);
  check(id !== undefined && id.length > 0, `${f}.id`, "is required");
  check(name !== undefined && name.length > 0, `${f}.name`, "is required");
  return { id, type: "function", function: { name, arguments: JSON.stringify(b.input ?? {}) } };
}

/** The `system` field: a string or text blocks → one system message (or none). */
export function systemMessage(v: unknown): UpstreamMessage | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v === "string") return v ? { role: "system", content: v } : undefined;
  check(Array.isArray(v), "system", "must be a string or an array of text blocks");
  const parts = v.map((b, j) => {
    check(isObject(b) && b.type === "text", `system[${j}]`, "must be a text block");
    return text(b, `system[${j}]`);
  });
  return parts.length > 0 ? { role: "system", content: parts } : undefined;
}

/**
 * One Messages API message → our messages (a user turn with tool results becomes tool
 * messages, then the user's other parts). `origin` receives, for each message pushed, the index
 * of the Anthropic message it came from (so a later validation error names the right one).
 */
export function toMessages(v: unknown, i: number, out: UpstreamMessage[], origin: number[]): void {
  const f = `messages[${i}]`;
  check(isObject(v), f, "must be an object");
  onlyKeys(v, f, ["role", "content"]);
  const role = str(v.role, `${f}.role`);
  check(role !== undefined && ROLES.has(role), `${f}.role`, "must be user or assistant");
  const push = (m: UpstreamMessage) => {
    out.push(m);
    origin.push(i);
  };
  if (typeof v.content === "string") {
    push({ role, content: v.content });
    return;
  }
  check(Array.isArray(v.content), `${f}.content`, "must be a string or an array of content blocks");
  const parts: ContentPart[] = [];
  const toolCalls: ToolCall[] = [];
  const results: UpstreamMessage[] = [];
  v.content.forEach((b, j) => {
    const bf = `${f}.content[${j}]`;
    check(isObject(b), bf, "must be a content block");
    const type = b.type;
    if (type === "text") parts.push(text(b, bf));
    else if ((type === "image" || type === "document") && role === "user")
      parts.push(type === "image" ? image(b, bf) : document(b, bf));
    else if (type === "tool_result" && role === "user") results.push(toolResult(b, bf));
    else if (type === "tool_use" && role === "assistant") toolCalls.push(toolUse(b, bf));
    else if ((type === "thinking" || type === "redacted_thinking") && role === "assistant") return;
    // The type is not echoed: error messages never carry request values.
    else check(false, `${bf}.type`, `this block type is not supported in a ${role} message`);
  });
  for (const r of results) push(r);
  if (role === "assistant") {
    const content = parts.map((p) => (p.type === "text" ? p.text : "")).join("");
    if (!content && toolCalls.length === 0) return;
    push({ role, content, ...(toolCalls.length > 0 ? { tool_calls: toolCalls } : {}) });
  } else if (parts.length > 0 || results.length === 0) push({ role, content: parts });
}
