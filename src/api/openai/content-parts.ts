/**
 * OpenAI Chat Completions messages and content parts → the router's messages (upstream/types.ts
 * `ContentPart`), as typed by the `openai` SDK (`ChatCompletionMessageParam`). Every field is
 * either carried or refused naming it; values are bounded later by `validateRouteRequest`.
 * Errors never echo content, URLs or data.
 */
import { check, isObject, type JsonObject, str } from "../../encoding/index.js";
import type { ContentPart, UpstreamMessage } from "../../upstream/index.js";

const ROLE_FIELDS: Readonly<Record<string, readonly string[]>> = {
  system: ["role", "content", "name"],
  developer: ["role", "content", "name"],
  user: ["role", "content", "name"],
  // `annotations` appear on a response's message, replayed as history; only an empty list is taken.
  assistant: ["role", "content", "name", "refusal", "tool_calls", "audio", "function_call", "annotations"],
  tool: ["role", "content", "tool_call_id"],
};

/** A data URL's head: media type, then `;base64`. Only the head is matched, never the data. */
const DATA_URL_HEAD = /^data:([a-z0-9.+-]+\/[a-z0-9.+-]+)((?:;[a-z0-9-]+=[^;,]*)*);base64,/i;

/** File types by extension, for `file_data` given as bare base64 (OpenAI's documented PDF first). */
const FILE_TYPES: Readonly<Record<string, string>> = {
  pdf: "application/pdf",
  txt: "text/plain",
  md: "text/markdown",
  csv: "text/csv",
  json: "application/json",
  html: "text/html",
};

function fields(v: JsonObject, allowed: readonly string[], f: string, what: string): void {
  for (const k of Object.keys(v))
    check(allowed.includes(k), `${f}.${k.slice(0, 32)}`, `is not a field of ${what}`);
}

/** `data:<type>[;params];base64,<data>` → type and data; undefined when `url` is not one. */
function dataUrl(url: string): { mediaType: string; data: string } | undefined {
  if (!url.startsWith("data:")) return undefined;
  const head = DATA_URL_HEAD.exec(url.slice(0, 512));
  if (!head) return undefined;
  return { mediaType: head[1]!.toLowerCase(), data: url.slice(head[0].length) };
}

function breakpoint(p: JsonObject, f: string): void {
  check(
    p.prompt_cache_breakpoint === undefined,
    `${f}.prompt_cache_breakpoint`,
    "explicit prompt-cache breakpoints are not supported (the provider would cache the prefix)",
  );
}

function imagePart(p: JsonObject, f: string): ContentPart {
  fields(p, ["type", "image_url", "prompt_cache_breakpoint"], f, "an image_url part");
  breakpoint(p, f);
  const img = p.image_url;
  check(isObject(img), `${f}.image_url`, "must be {url, detail?}");
  fields(img, ["url", "detail"], `${f}.image_url`, "image_url");
  const url = str(img.url, `${f}.image_url.url`);
  check(url !== undefined && url.length > 0, `${f}.image_url.url`, "is required");
  const detail = str(img.detail, `${f}.image_url.detail`) as "auto" | "low" | "high" | undefined;
  const inline = dataUrl(url);
  if (url.startsWith("data:"))
    check(inline !== undefined, `${f}.image_url.url`, "must be a data:image/…;base64, URL");
  const source = inline ? { kind: "base64" as const, ...inline } : { kind: "url" as const, url };
  return detail === undefined ? { type: "image", source } : { type: "image", source, detail };
}

function audioPart(p: JsonObject, f: string): ContentPart {
  fields(p, ["type", "input_audio", "prompt_cache_breakpoint"], f, "an input_audio part");
  breakpoint(p, f);
  const a = p.input_audio;
  check(isObject(a), `${f}.input_audio`, "must be {data, format}");
  fields(a, ["data", "format"], `${f}.input_audio`, "input_audio");
  const data = str(a.data, `${f}.input_audio.data`);
  check(data !== undefined, `${f}.input_audio.data`, "is required");
  const format = str(a.format, `${f}.input_audio.format`);
  check(format === "wav" || format === "mp3", `${f}.input_audio.format`, "must be wav or mp3");
  return { type: "audio", data, format };
}

function filePart(p: JsonObject, f: string): ContentPart {
  fields(p, ["type", "file", "prompt_cache_breakpoint"], f, "a file part");
  breakpoint(p, f);
  const file = p.file;
  check(isObject(file), `${f}.file`, "must be {file_data, filename?}");
  fields(file, ["file_data", "file_id", "filename"], `${f}.file`, "file");
  check(
    file.file_id === undefined || file.file_id === null,
    `${f}.file.file_id`,
    "uploaded files are not supported (the router has no file store): send file_data",
  );
  const data = str(file.file_data, `${f}.file.file_data`);
  check(data !== undefined && data.length > 0, `${f}.file.file_data`, "is required");
  const filename = str(file.filename, `${f}.file.filename`);
  let source: { kind: "base64"; mediaType: string; data: string };
  if (data.startsWith("data:")) {
    const inline = dataUrl(data);
    check(inline !== undefined, `${f}.file.file_data`, "must be a data:<type>;base64, URL or base64");
    source = { kind: "base64", ...inline };
  } else {
    const ext = filename?.split(".").pop()?.toLowerCase() ?? "pdf";
    source = { kind: "base64", mediaType: FILE_TYPES[ext] ?? "application/pdf", data };
  }
  return filename === undefined ? { type: "file", source } : { type: "file", source, filename };
}

function part(p: unknown, f: string, role: string): ContentPart {
  check(isObject(p), f, "must be a content part object");
  switch (p.type) {
    case "text":
      fields(p, ["type", "text", "prompt_cache_breakpoint"], f, "a text part");
      breakpoint(p, f);
      check(typeof p.text === "string", `${f}.text`, "must be a string");
      return { type: "text", text: p.text };
    case "image_url":
      return imagePart(p, f);
    case "input_audio":
      return audioPart(p, f);
    case "file":
      return filePart(p, f);
    case "refusal":
      check(false, `${f}.type`, `refusal parts are not supported: give the ${role} message's refusal field`);
      break;
  }
  check(false, `${f}.type`, "must be text, image_url, input_audio or file");
}

/** OpenAI content: null, a string, or content parts. */
function content(v: unknown, f: string, role: string): UpstreamMessage["content"] {
  if (v === undefined || v === null) return "";
  if (typeof v === "string") return v;
  check(Array.isArray(v), f, "must be a string or an array of content parts");
  const parts = v.map((p, i) => part(p, `${f}[${i}]`, role));
  return parts;
}

function toolCalls(v: unknown, f: string): UpstreamMessage["tool_calls"] {
  check(Array.isArray(v), f, "must be an array");
  return v.map((t, j) => {
    const tf = `${f}[${j}]`;
    check(isObject(t), tf, "must be {id, type: function, function: {name, arguments}}");
    fields(t, ["id", "type", "function"], tf, "a tool call");
    check(
      t.type === undefined || t.type === "function",
      `${tf}.type`,
      "must be function (custom tools are not supported)",
    );
    check(isObject(t.function), `${tf}.function`, "must be {name, arguments}");
    fields(t.function, ["name", "arguments"], `${tf}.function`, "a function call");
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

/** One `messages[i]` of a Chat Completions body. */
export function openAIMessage(v: unknown, i: number): UpstreamMessage {
  const f = `messages[${i}]`;
  check(isObject(v), f, "must be an object");
  const role = str(v.role, `${f}.role`);
  check(role !== undefined, `${f}.role`, "is required");
  check(
    role !== "function",
    `${f}.role`,
    "the function role is deprecated and not supported: use tools and tool messages",
  );
  // Own keys only: a role such as "__proto__" or "toString" is not a role.
  const allowed = Object.hasOwn(ROLE_FIELDS, role) ? ROLE_FIELDS[role] : undefined;
  check(allowed !== undefined, `${f}.role`, "must be one of system, developer, user, assistant, tool");
  fields(v, allowed, f, `a ${role} message`);
  check(v.audio === undefined || v.audio === null, `${f}.audio`, "audio output is not supported");
  check(
    v.function_call === undefined || v.function_call === null,
    `${f}.function_call`,
    "function_call is deprecated and not supported: use tool_calls",
  );
  check(
    v.annotations === undefined ||
      v.annotations === null ||
      (Array.isArray(v.annotations) && v.annotations.length === 0),
    `${f}.annotations`,
    "annotations are output only",
  );
  const out: UpstreamMessage = { role, content: content(v.content, `${f}.content`, role) };
  const name = str(v.name, `${f}.name`);
  if (name) out.name = name;
  const refusal = str(v.refusal, `${f}.refusal`);
  if (refusal !== undefined) out.refusal = refusal;
  const toolCallId = str(v.tool_call_id, `${f}.tool_call_id`);
  if (toolCallId) out.tool_call_id = toolCallId;
  if (role === "tool") check(toolCallId !== undefined, `${f}.tool_call_id`, "is required");
  if (v.tool_calls !== undefined && v.tool_calls !== null)
    out.tool_calls = toolCalls(v.tool_calls, `${f}.tool_calls`);
  return out;
}
