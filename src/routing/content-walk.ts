/**
 * Every text a request would send upstream, in one walk (issue 16): the detectors scan what it
 * visits and the redact obligation rewrites the same places, so what is counted is what is
 * masked. Visited: message text and text parts (system, user, assistant and tool results
 * alike), a participant's `name`, an assistant turn's `refusal`, the string values of tool-call
 * arguments (JSON), tool descriptions and the string values of their parameter schemas, stop
 * sequences, the string values of `tool_choice` and of the other parameters (`user`,
 * `prediction`, `response_format`, …), and files whose media type is text (`text/*`,
 * JSON, XML), decoded as UTF-8. Images and audio are labelled by modality only (the
 * policy sees `request.modalities`). The other files are {@link opaqueFiles}: the scan reads
 * a PDF's text on its own (content-labels.ts, pdf-text.ts) but cannot rewrite it; any other
 * file (a binary) cannot be scanned and is counted as such (`ContentLabels.unscannable`),
 * which the shipped rules treat as "may contain anything". The caller's routing labels are not
 * content: they are recorded as given.
 */
import type { ContentPart, UpstreamMessage, UpstreamTool } from "../upstream/index.js";
import type { RouteRequest } from "./types.js";

/** A rewrite of one text; the identity when scanning. */
export type TextMap = (text: string) => string;

/**
 * `req` with `f` applied to every text it would send upstream. Objects that `f` leaves as they
 * were are shared with `req`, never mutated.
 */
export function mapRequestTexts(req: RouteRequest, f: TextMap): RouteRequest {
  const out: RouteRequest = { ...req, messages: req.messages.map((m) => mapMessage(m, f)) };
  if (req.tools) out.tools = req.tools.map((t) => mapTool(t, f));
  if (req.stop) out.stop = req.stop.map(f);
  if (req.toolChoice !== undefined) out.toolChoice = mapJsonStrings(req.toolChoice, f);
  if (req.params) out.params = mapJsonStrings(req.params, f) as Record<string, unknown>;
  return out;
}

/** A file part of a request. */
export type FilePart = Extract<ContentPart, { type: "file" }>;

/**
 * The file parts of `req` that {@link mapRequestTexts} does not visit (not text: a PDF, a
 * binary), in order.
 */
export function opaqueFiles(req: Pick<RouteRequest, "messages">): FilePart[] {
  const out: FilePart[] = [];
  for (const m of req.messages) {
    if (typeof m.content === "string") continue;
    for (const p of m.content) if (p.type === "file" && fileText(p) === undefined) out.push(p);
  }
  return out;
}

function mapMessage(m: UpstreamMessage, f: TextMap): UpstreamMessage {
  const out: UpstreamMessage = {
    ...m,
    content: typeof m.content === "string" ? f(m.content) : m.content.map((p) => mapPart(p, f)),
  };
  if (m.name !== undefined) out.name = f(m.name);
  if (m.refusal !== undefined) out.refusal = f(m.refusal);
  if (m.tool_calls)
    out.tool_calls = m.tool_calls.map((c) => ({
      ...c,
      function: { ...c.function, arguments: mapJsonText(c.function.arguments, f) },
    }));
  return out;
}

function mapPart(p: ContentPart, f: TextMap): ContentPart {
  if (p.type === "text") return { ...p, text: f(p.text) };
  if (p.type !== "file") return p;
  const text = fileText(p);
  if (text === undefined) return p;
  const mapped = f(text);
  if (mapped === text) return p;
  return { ...p, source: { ...p.source, data: Buffer.from(mapped, "utf8").toString("base64") } };
}

function mapTool(t: UpstreamTool, f: TextMap): UpstreamTool {
  const fn = { ...t.function };
  if (fn.description !== undefined) fn.description = f(fn.description);
  if (fn.parameters !== undefined) fn.parameters = mapJsonStrings(fn.parameters, f);
  return { ...t, function: fn };
}

const TEXT_FILE = /^(text\/[a-z0-9.+-]+|application\/(json|xml|[a-z0-9.+-]+\+(json|xml)))$/i;
const utf8 = new TextDecoder("utf-8", { fatal: true });

/** The text of a file part whose media type is text and whose bytes are UTF-8; else undefined. */
function fileText(p: FilePart): string | undefined {
  if (!TEXT_FILE.test(p.source.mediaType)) return undefined;
  try {
    return utf8.decode(Buffer.from(p.source.data, "base64"));
  } catch {
    return undefined;
  }
}

/**
 * A JSON text (tool-call arguments) with `f` applied to each string value, re-serialised only
 * when something changed; text that is not JSON is mapped as a whole.
 */
function mapJsonText(text: string, f: TextMap): string {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return f(text);
  }
  let changed = false;
  const mapped = mapJsonStrings(parsed, (s) => {
    const r = f(s);
    if (r !== s) changed = true;
    return r;
  });
  return changed ? JSON.stringify(mapped) : text;
}

/** A JSON value with `f` applied to every string in it (object keys excepted). */
function mapJsonStrings(v: unknown, f: TextMap): unknown {
  if (typeof v === "string") return f(v);
  if (Array.isArray(v)) return v.map((x) => mapJsonStrings(x, f));
  if (typeof v === "object" && v !== null) {
    const out: Record<string, unknown> = {};
    // defineProperty: a key named `__proto__` stays an own key (an assignment would not).
    for (const k of Object.keys(v))
      Object.defineProperty(out, k, {
        value: mapJsonStrings((v as Record<string, unknown>)[k], f),
        enumerable: true,
        writable: true,
        configurable: true,
      });
    return out;
  }
  return v;
}
