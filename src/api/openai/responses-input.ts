/**
 * The Responses API's `instructions` and `input` (a string, or items) → the one internal message
 * list (Chat Completions shaped, {@link UpstreamMessage}), so a Responses request can go to any
 * upstream API. Stateless: nothing here refers to a stored response or conversation.
 *
 * Items (openai 6.49.0, `ResponseInputItem`):
 * - `message` (role user | system | developer | assistant; `type` may be omitted) → a message;
 *   parts `input_text` / `output_text` → text, `input_image` (https or data URL) → image,
 *   `input_file` (`file_data`, base64 or data URL) → file. `file_id`, `file_url`, `refusal`,
 *   `prompt_cache_breakpoint`, `phase` and `detail: "original"` are refused: no upstream takes them.
 * - `function_call` → an assistant message's `tool_calls` (consecutive calls are one message,
 *   joined to the assistant text just before them); `function_call_output` → a `tool` message.
 * - `reasoning` from an earlier turn: a Chat Completions or Messages upstream cannot take earlier
 *   reasoning back (Anthropic needs its own signed blocks), so an item that carries any (summary,
 *   content or encrypted_content) is refused rather than dropped; an empty one carries nothing.
 * - everything else (item_reference, built-in tool calls, MCP, shell, compaction, …) is refused
 *   naming `input[i].type`: it needs server state or a tool the router does not run.
 *
 * Descriptive fields of replayed output items (`id`, `status`, an output text's `annotations`
 * and `logprobs`) are not model input at OpenAI either; they are accepted and not sent.
 */
import { check, isObject, type JsonObject, str } from "../../encoding/index.js";
import type { ContentPart, UpstreamMessage } from "../../upstream/index.js";

type ToolCall = NonNullable<UpstreamMessage["tool_calls"]>[number];
type Message = { -readonly [K in keyof UpstreamMessage]: UpstreamMessage[K] } & { tool_calls?: ToolCall[] };

const MESSAGE_ROLES = new Set(["user", "system", "developer", "assistant"]);
const IMAGE_DETAIL = new Set(["auto", "low", "high"]);
const DATA_URL = /^data:([a-z0-9.+-]+\/[a-z0-9.+-]+)((?:;[a-z0-9-]+=[^;,]*)*);base64,/i;
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/** `instructions` then `input`, as messages. */
export function responsesMessages(instructions: unknown, input: unknown): UpstreamMessage[] {
  const out: Message[] = [];
  const system = str(instructions, "instructions");
  if (system) out.push({ role: "system", content: system });
  check(input !== undefined && input !== null, "input", "is required (stored prompts are not supported)");
  if (typeof input === "string") {
    out.push({ role: "user", content: input });
    return out;
  }
  check(Array.isArray(input), "input", "must be a string or an array of input items");
  check(input.length > 0, "input", "at least one input item is required");
  input.forEach((item, i) => addItem(out, item, `input[${i}]`));
  return out;
}

function addItem(out: Message[], item: unknown, f: string): void {
  check(isObject(item), f, "must be an object");
  const type = item.type ?? "message";
  switch (type) {
    case "message":
      out.push(message(item, f));
      return;
    case "function_call":
      functionCall(out, item, f);
      return;
    case "function_call_output":
      out.push(functionCallOutput(item, f));
      return;
    case "reasoning":
      check(
        emptyList(item.summary) && emptyList(item.content) && !item.encrypted_content,
        f,
        "reasoning from an earlier turn cannot be sent to a stateless upstream; leave reasoning items out of input",
      );
      return;
    case "item_reference":
      check(false, `${f}.type`, "item references need stored responses; this server stores none");
      return;
    default:
      check(
        false,
        `${f}.type`,
        "only message, function_call, function_call_output and (empty) reasoning items are supported",
      );
  }
}

function emptyList(v: unknown): boolean {
  return v === undefined || v === null || (Array.isArray(v) && v.length === 0);
}

function message(item: JsonObject, f: string): Message {
  const role = str(item.role, `${f}.role`);
  check(
    role !== undefined && MESSAGE_ROLES.has(role),
    `${f}.role`,
    "must be user, system, developer or assistant",
  );
  check(item.phase === undefined || item.phase === null, `${f}.phase`, "is not supported");
  const c = item.content;
  if (typeof c === "string") return { role, content: c };
  check(Array.isArray(c), `${f}.content`, "must be a string or an array of content parts");
  const parts = c.map((p, j) => part(p, `${f}.content[${j}]`, role === "assistant"));
  // Plain text stays a string: the widest set of upstreams takes it.
  const text = parts.every((p) => p.type === "text");
  return { role, content: text ? parts.map((p) => (p as { text: string }).text).join("") : parts };
}

function part(p: unknown, f: string, assistant: boolean): ContentPart {
  check(isObject(p), f, "must be a content part object");
  check(p.prompt_cache_breakpoint === undefined, `${f}.prompt_cache_breakpoint`, "is not supported");
  if (p.type === "input_text" || p.type === "output_text") {
    const text = str(p.text, `${f}.text`);
    check(text !== undefined, `${f}.text`, "is required");
    return { type: "text", text };
  }
  check(p.type !== "refusal", `${f}.type`, "an earlier refusal cannot be sent upstream");
  check(!assistant, `${f}.type`, "assistant content must be text");
  if (p.type === "input_image") return image(p, f);
  if (p.type === "input_file") return file(p, f);
  check(false, `${f}.type`, "must be input_text, input_image or input_file");
}

function image(p: JsonObject, f: string): ContentPart {
  check(p.file_id === undefined || p.file_id === null, `${f}.file_id`, "uploaded files are not supported");
  const url = str(p.image_url, `${f}.image_url`);
  check(url !== undefined, `${f}.image_url`, "is required (an https or data URL)");
  const detail = str(p.detail, `${f}.detail`) ?? "auto";
  check(IMAGE_DETAIL.has(detail), `${f}.detail`, "must be auto, low or high");
  const d = detail as "auto" | "low" | "high";
  const inline = dataUrl(url, `${f}.image_url`);
  if (inline) return { type: "image", source: inline, detail: d };
  check(isHttps(url), `${f}.image_url`, "must be an https URL or a base64 data URL");
  return { type: "image", source: { kind: "url", url }, detail: d };
}

function file(p: JsonObject, f: string): ContentPart {
  check(p.file_id === undefined || p.file_id === null, `${f}.file_id`, "uploaded files are not supported");
  check(p.file_url === undefined, `${f}.file_url`, "files by URL are not supported; send file_data");
  const detail = str(p.detail, `${f}.detail`);
  check(detail === undefined || detail === "auto", `${f}.detail`, "only auto is supported");
  const data = str(p.file_data, `${f}.file_data`);
  check(data !== undefined, `${f}.file_data`, "is required (base64 or a data URL)");
  const filename = str(p.filename, `${f}.filename`);
  let source = dataUrl(data, `${f}.file_data`);
  if (!source) {
    // Bare base64 names its type by the filename; PDF is the file type upstreams take.
    check(
      filename !== undefined && /\.pdf$/i.test(filename),
      `${f}.file_data`,
      "bare base64 needs a .pdf filename; otherwise send a data URL",
    );
    check(BASE64.test(data), `${f}.file_data`, "is not valid base64");
    source = { kind: "base64", mediaType: "application/pdf", data };
  }
  return filename === undefined ? { type: "file", source } : { type: "file", source, filename };
}

/** A base64 data URL as inline bytes; undefined for anything else. Never echoes the value. */
function dataUrl(v: string, f: string): { kind: "base64"; mediaType: string; data: string } | undefined {
  if (!v.startsWith("data:")) return undefined;
  const m = DATA_URL.exec(v);
  check(m !== null, f, "a data URL must be base64 (data:<type>;base64,…)");
  const data = v.slice(m[0].length);
  check(BASE64.test(data), f, "the data URL's payload is not valid base64");
  return { kind: "base64", mediaType: m[1]!.toLowerCase(), data };
}

function isHttps(v: string): boolean {
  try {
    return new URL(v).protocol === "https:";
  } catch {
    return false;
  }
}

function functionCall(out: Message[], item: JsonObject, f: string): void {
  const callId = str(item.call_id, `${f}.call_id`);
  const name = str(item.name, `${f}.name`);
  const args = str(item.arguments, `${f}.arguments`);
  check(callId !== undefined && callId.length > 0, `${f}.call_id`, "is required");
  check(name !== undefined && name.length > 0, `${f}.name`, "is required");
  check(args !== undefined, `${f}.arguments`, "is required");
  check(item.namespace === undefined || item.namespace === null, `${f}.namespace`, "is not supported");
  directCaller(item.caller, `${f}.caller`);
  const call: ToolCall = { id: callId, type: "function", function: { name, arguments: args } };
  // Parallel calls are one assistant turn; so is the text the model wrote just before them.
  const last = out[out.length - 1];
  if (last?.role === "assistant") last.tool_calls = [...(last.tool_calls ?? []), call];
  else out.push({ role: "assistant", content: "", tool_calls: [call] });
}

function functionCallOutput(item: JsonObject, f: string): Message {
  const callId = str(item.call_id, `${f}.call_id`);
  check(callId !== undefined && callId.length > 0, `${f}.call_id`, "is required");
  directCaller(item.caller, `${f}.caller`);
  const o = item.output;
  if (typeof o === "string") return { role: "tool", tool_call_id: callId, content: o };
  check(Array.isArray(o), `${f}.output`, "must be a string or an array of input_text parts");
  // Chat Completions tool messages carry text only.
  const text = o.map((p, j) => {
    const pf = `${f}.output[${j}]`;
    check(isObject(p) && p.type === "input_text", `${pf}.type`, "tool output must be text (input_text)");
    const t = str(p.text, `${pf}.text`);
    check(t !== undefined, `${pf}.text`, "is required");
    return t;
  });
  return { role: "tool", tool_call_id: callId, content: text.join("") };
}

function directCaller(v: unknown, f: string): void {
  if (v === undefined || v === null) return;
  check(isObject(v) && v.type === "direct", f, "only direct tool calls are supported");
}
