/**
 * The router's request → an OpenAI Chat Completions body, and the usage of a streamed answer →
 * the router's {@link Usage}. Parameters go by their OpenAI names (`params`); OpenRouter's
 * extras (`top_k`, `min_p`, …) as they are, since OpenAI-compatible servers that take them use
 * those names.
 */
import type { ContentPart, UpstreamMessage, UpstreamRequest, Usage } from "./types.js";

/** A content part in OpenAI's wire form; inline media as data URLs. */
function wirePart(p: ContentPart): Record<string, unknown> {
  switch (p.type) {
    case "text":
      return { type: "text", text: p.text };
    case "image": {
      const url =
        p.source.kind === "url" ? p.source.url : `data:${p.source.mediaType};base64,${p.source.data}`;
      return { type: "image_url", image_url: p.detail ? { url, detail: p.detail } : { url } };
    }
    case "audio":
      return { type: "input_audio", input_audio: { data: p.data, format: p.format } };
    case "file": {
      const file: Record<string, unknown> = {
        file_data: `data:${p.source.mediaType};base64,${p.source.data}`,
      };
      if (p.filename !== undefined) file.filename = p.filename;
      return { type: "file", file };
    }
  }
}

function wireMessage(m: UpstreamMessage): Record<string, unknown> {
  const out: Record<string, unknown> = {
    role: m.role,
    content: typeof m.content === "string" ? m.content : m.content.map(wirePart),
  };
  if (m.name !== undefined) out.name = m.name;
  if (m.refusal !== undefined) out.refusal = m.refusal;
  if (m.tool_call_id !== undefined) out.tool_call_id = m.tool_call_id;
  if (m.tool_calls !== undefined) out.tool_calls = m.tool_calls;
  // An assistant turn that only called tools has no content (OpenAI: null).
  if (m.role === "assistant" && out.content === "" && m.tool_calls?.length) out.content = null;
  return out;
}

/**
 * The streaming request body. `params.max_completion_tokens` says the caller used that name for
 * the limit: it is sent as `max_completion_tokens` (reasoning models refuse `max_tokens`).
 */
export function toOpenAIBody(req: UpstreamRequest): Record<string, unknown> {
  const { max_completion_tokens: asCompletionTokens, ...params } = req.params ?? {};
  const body: Record<string, unknown> = { model: req.model, messages: req.messages.map(wireMessage) };
  if (req.max_tokens !== undefined) {
    if (asCompletionTokens !== undefined) body.max_completion_tokens = req.max_tokens;
    else body.max_tokens = req.max_tokens;
  }
  if (req.temperature !== undefined) body.temperature = req.temperature;
  if (req.top_p !== undefined) body.top_p = req.top_p;
  if (req.stop !== undefined) body.stop = req.stop;
  if (req.tools !== undefined) body.tools = req.tools;
  if (req.tool_choice !== undefined) body.tool_choice = req.tool_choice;
  if (req.seed !== undefined) body.seed = req.seed;
  Object.assign(body, params);
  body.stream = true;
  body.stream_options = { include_usage: true };
  return body;
}

/** OpenAI's usage object, with OpenRouter's `cache_write_tokens` beside the cached ones. */
export interface WireUsage {
  prompt_tokens?: number;
  completion_tokens?: number;
  prompt_tokens_details?: {
    cached_tokens?: number;
    cache_write_tokens?: number;
    audio_tokens?: number;
  } | null;
  completion_tokens_details?: { reasoning_tokens?: number; audio_tokens?: number } | null;
}

const count = (v: unknown): number | undefined =>
  typeof v === "number" && Number.isSafeInteger(v) && v >= 0 ? v : undefined;

/** The usage with the details the upstream reported (absent details stay absent). */
export function usageOf(u: WireUsage | null | undefined): Usage | undefined {
  if (!u) return undefined;
  const out: Usage = {
    promptTokens: count(u.prompt_tokens) ?? 0,
    completionTokens: count(u.completion_tokens) ?? 0,
  };
  const p = u.prompt_tokens_details;
  const c = u.completion_tokens_details;
  const cached = count(p?.cached_tokens);
  if (cached !== undefined) out.cachedPromptTokens = cached;
  const written = count(p?.cache_write_tokens);
  if (written !== undefined) out.cacheWritePromptTokens = written;
  const audioIn = count(p?.audio_tokens);
  if (audioIn !== undefined) out.audioPromptTokens = audioIn;
  const reasoning = count(c?.reasoning_tokens);
  if (reasoning !== undefined) out.reasoningTokens = reasoning;
  const audioOut = count(c?.audio_tokens);
  if (audioOut !== undefined) out.audioCompletionTokens = audioOut;
  return out;
}
