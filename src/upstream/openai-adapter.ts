import { UpstreamError } from "./errors.js";
import { type PoolSet, postJson, toUpstreamError } from "./http-call.js";
import { openAIEmbed } from "./openai-embed.js";
import { parseSse } from "./sse.js";
import type {
  EmbeddingRequest,
  EmbeddingResult,
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
    delta?: {
      role?: string;
      content?: string | null;
      tool_calls?: { index: number; id?: string; function?: { name?: string; arguments?: string } }[];
    };
    finish_reason?: string | null;
  }[];
  usage?: { prompt_tokens?: number; completion_tokens?: number } | null;
}

function usageOf(
  u: { prompt_tokens?: number; completion_tokens?: number } | null | undefined,
): Usage | undefined {
  return u ? { promptTokens: u.prompt_tokens ?? 0, completionTokens: u.completion_tokens ?? 0 } : undefined;
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
    const payload = JSON.stringify({ ...req, stream: true, stream_options: { include_usage: true } });
    const res = await postJson(
      this.pools,
      url,
      { ...this.#headers(target, opts), accept: "text/event-stream" },
      payload,
      opts,
    );
    let finishReason: string | undefined;
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
        const choice = chunk.choices?.[0];
        if (!choice) continue;
        const d = choice.delta;
        const toolCalls: ToolCallDelta[] | undefined = d?.tool_calls?.map((t) => ({
          index: t.index,
          id: t.id,
          name: t.function?.name,
          arguments: t.function?.arguments,
        }));
        if (d && (d.content || toolCalls?.length || d.role)) {
          if (!sawContent && (d.content || toolCalls?.length)) {
            sawContent = true;
            res.gotFirstToken();
          }
          yield { type: "delta", role: d.role, content: d.content ?? undefined, toolCalls };
        }
        if (choice.finish_reason) finishReason = choice.finish_reason;
      }
    } catch (err) {
      throw toUpstreamError(err, undefined, opts.signal);
    } finally {
      res.done();
      res.body.destroy();
    }
    if (!finishReason)
      throw new UpstreamError("stream_broken", "upstream stream ended without a finish reason");
    yield { type: "finish", finishReason, usage };
  }

  /** `POST {base}/embeddings` (./openai-embed.ts). */
  embed(target: UpstreamTarget, req: EmbeddingRequest, opts: UpstreamCallOptions): Promise<EmbeddingResult> {
    return openAIEmbed(this.pools, this.#headers(target, opts), target, req, opts);
  }

  async close(): Promise<void> {}
}
