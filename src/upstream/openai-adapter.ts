import { UpstreamError } from "./errors.js";
import { type PoolSet, postJson, toUpstreamError } from "./http-call.js";
import { openAIEmbed } from "./openai-embed.js";
import { parseSse } from "./sse.js";
import type {
  EmbeddingRequest,
  EmbeddingResult,
  TokenLogprob,
  ToolCallDelta,
  UpstreamAdapter,
  UpstreamCallOptions,
  UpstreamEvent,
  UpstreamRequest,
  UpstreamTarget,
  Usage,
} from "./types.js";

interface OpenAIChunk {
  choices?: {
    index?: number;
    delta?: {
      role?: string;
      content?: string | null;
      reasoning?: string | null;
      refusal?: string | null;
      tool_calls?: { index: number; id?: string; function?: { name?: string; arguments?: string } }[];
    };
    logprobs?: { content?: TokenLogprob[] | null } | null;
    finish_reason?: string | null;
  }[];
  usage?: OpenAIUsage | null;
}

interface OpenAIUsage {
  prompt_tokens?: number;
  completion_tokens?: number;
  prompt_tokens_details?: { cached_tokens?: number; audio_tokens?: number } | null;
  completion_tokens_details?: { reasoning_tokens?: number; audio_tokens?: number } | null;
}

function usageOf(u: OpenAIUsage | null | undefined): Usage | undefined {
  if (!u) return undefined;
  const details = {
    cachedPromptTokens: u.prompt_tokens_details?.cached_tokens,
    audioPromptTokens: u.prompt_tokens_details?.audio_tokens,
    reasoningTokens: u.completion_tokens_details?.reasoning_tokens,
    audioCompletionTokens: u.completion_tokens_details?.audio_tokens,
  };
  const usage: Usage = { promptTokens: u.prompt_tokens ?? 0, completionTokens: u.completion_tokens ?? 0 };
  // OpenAI reports 0 for each detail it has nothing for: only a count above 0 says something.
  for (const [k, v] of Object.entries(details))
    if (typeof v === "number" && v > 0) usage[k as keyof typeof details] = v;
  return usage;
}

/**
 * The request body: the core fields, the other parameters flat beside them (by their OpenAI
 * names), and the limit under `max_completion_tokens` when the caller used that name.
 */
function body(req: UpstreamRequest): Record<string, unknown> {
  const { params, ...core } = req;
  const out: Record<string, unknown> = { ...core, ...params };
  if (params?.max_completion_tokens !== undefined) delete out.max_tokens;
  return out;
}

/** The OpenAI Chat Completions wire protocol, which most providers and local servers speak. */
export class OpenAICompatibleAdapter implements UpstreamAdapter {
  constructor(private readonly pools: PoolSet) {}

  #headers(target: UpstreamTarget, opts: UpstreamCallOptions): Record<string, string> {
    const h: Record<string, string> = {};
    if (target.apiKey) h.authorization = `Bearer ${target.apiKey}`;
    if (opts.requestId) h["x-request-id"] = opts.requestId;
    return h;
  }

  async *stream(
    target: UpstreamTarget,
    req: UpstreamRequest,
    opts: UpstreamCallOptions,
  ): AsyncGenerator<UpstreamEvent> {
    const url = new URL(`${target.baseUrl.replace(/\/$/, "")}/chat/completions`);
    const payload = JSON.stringify({ ...body(req), stream: true, stream_options: { include_usage: true } });
    const res = await postJson(
      this.pools,
      url,
      { ...this.#headers(target, opts), accept: "text/event-stream" },
      payload,
      opts,
    );
    const finishes = new Map<number, string>();
    let usage: Usage | undefined;
    let sawContent = false;
    try {
      for await (const ev of parseSse(res.body)) {
        res.touch();
        if (ev.data === "[DONE]") break;
        let chunk: OpenAIChunk;
        try {
          chunk = JSON.parse(ev.data) as OpenAIChunk;
        } catch {
          throw new UpstreamError("protocol", "upstream sent an unparseable event");
        }
        usage = usageOf(chunk.usage) ?? usage;
        for (const choice of chunk.choices ?? []) {
          const index = choice.index ?? 0;
          const d = choice.delta;
          const toolCalls: ToolCallDelta[] | undefined = d?.tool_calls?.map((t) => ({
            index: t.index,
            id: t.id,
            name: t.function?.name,
            arguments: t.function?.arguments,
          }));
          const logprobs = choice.logprobs?.content ?? undefined;
          const said = d?.content || d?.reasoning || d?.refusal || toolCalls?.length;
          if (said || d?.role || logprobs?.length) {
            if (!sawContent && said) {
              sawContent = true;
              res.gotFirstToken();
            }
            yield {
              type: "delta",
              ...(index === 0 ? {} : { index }),
              role: d?.role,
              content: d?.content ?? undefined,
              ...(d?.reasoning ? { reasoning: d.reasoning } : {}),
              ...(d?.refusal ? { refusal: d.refusal } : {}),
              toolCalls,
              ...(logprobs?.length ? { logprobs } : {}),
            };
          }
          if (choice.finish_reason) finishes.set(index, choice.finish_reason);
        }
      }
    } catch (err) {
      throw toUpstreamError(err, undefined, opts.signal);
    } finally {
      res.done();
      res.body.destroy();
    }
    const finishReason = finishes.get(0);
    if (!finishReason)
      throw new UpstreamError("stream_broken", "upstream stream ended without a finish reason");
    const choices = [...finishes].sort(([a], [b]) => a - b).map(([index, r]) => ({ index, finishReason: r }));
    yield { type: "finish", finishReason, ...(choices.length > 1 ? { choices } : {}), usage };
  }

  /** `POST {base}/embeddings` (./openai-embed.ts). */
  embed(target: UpstreamTarget, req: EmbeddingRequest, opts: UpstreamCallOptions): Promise<EmbeddingResult> {
    return openAIEmbed(this.pools, this.#headers(target, opts), target, req, opts);
  }

  async close(): Promise<void> {}
}
