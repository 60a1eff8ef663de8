import { endpointUrl } from "./endpoint-url.js";
import { UpstreamError } from "./errors.js";
import { type PoolSet, postJson, toUpstreamError } from "./http-call.js";
import { openAIEmbed } from "./openai-embed.js";
import { toOpenAIBody, usageOf, type WireUsage } from "./openai-wire.js";
import { sseBatches } from "./sse.js";
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

/** One `chat.completion.chunk` as OpenAI-compatible servers stream it. */
interface OpenAIChunk {
  choices?: {
    index?: number;
    delta?: {
      role?: string;
      content?: string | null;
      /** OpenRouter's name; some servers (vLLM, DeepSeek) say `reasoning_content`. */
      reasoning?: string | null;
      reasoning_content?: string | null;
      refusal?: string | null;
      tool_calls?: { index: number; id?: string; function?: { name?: string; arguments?: string } }[];
    };
    logprobs?: { content?: TokenLogprob[] | null } | null;
    finish_reason?: string | null;
  }[];
  usage?: WireUsage | null;
}

/** The OpenAI Chat Completions wire protocol, which most providers and local servers speak. */
export class OpenAICompatibleAdapter implements UpstreamAdapter {
  constructor(private readonly pools: PoolSet) {}

  #headers(target: UpstreamTarget, opts: UpstreamCallOptions): Record<string, string> {
    const h: Record<string, string> = {};
    if (target.apiKey) h.authorization = `Bearer ${target.apiKey}`;
    if (opts.requestId) h["x-request-id"] = opts.requestId;
    if (opts.traceparent) h.traceparent = opts.traceparent;
    return h;
  }

  async *stream(
    target: UpstreamTarget,
    req: UpstreamRequest,
    opts: UpstreamCallOptions,
  ): AsyncGenerator<UpstreamEvent> {
    const url = endpointUrl(target.baseUrl, "chat/completions");
    const payload = JSON.stringify(toOpenAIBody(req));
    const res = await postJson(
      this.pools,
      url,
      { ...this.#headers(target, opts), accept: "text/event-stream" },
      payload,
      opts,
    );
    // With `n` > 1 every choice streams (deltas carry its index) and ends with its own reason.
    const expected = typeof req.params?.n === "number" ? req.params.n : 1;
    const finishes = new Map<number, string>();
    let usage: Usage | undefined;
    let sawContent = false;
    let sawDone = false;
    try {
      read: for await (const events of sseBatches(res.body)) {
        for (const ev of events) {
          res.touch();
          if (ev.data === "[DONE]") {
            sawDone = true;
            break read;
          }
          let chunk: OpenAIChunk;
          try {
            chunk = JSON.parse(ev.data) as OpenAIChunk;
          } catch {
            throw new UpstreamError("protocol", "upstream sent an unparseable event");
          }
          usage = usageOf(chunk.usage) ?? usage;
          for (const choice of chunk.choices ?? []) {
            const index = choice.index ?? 0;
            const delta = toDelta(index, choice);
            if (delta) {
              if (!sawContent && (delta.content || delta.toolCalls || delta.reasoning || delta.refusal)) {
                sawContent = true;
                res.gotFirstToken();
              }
              yield delta;
            }
            if (choice.finish_reason) finishes.set(index, choice.finish_reason);
          }
        }
      }
    } catch (err) {
      throw toUpstreamError(err, undefined, opts.signal);
    } finally {
      res.release(sawDone);
    }
    for (let i = 0; i < expected; i++)
      if (!finishes.has(i))
        throw new UpstreamError("stream_broken", "upstream stream ended without a finish reason");
    const finishReason = finishes.get(0)!;
    if (expected > 1) {
      const choices = [...finishes]
        .sort(([a], [b]) => a - b)
        .map(([i, r]) => ({ index: i, finishReason: r }));
      yield { type: "finish", finishReason, choices, usage };
    } else yield { type: "finish", finishReason, usage };
  }

  /** `POST {base}/embeddings` (./openai-embed.ts). */
  embed(target: UpstreamTarget, req: EmbeddingRequest, opts: UpstreamCallOptions): Promise<EmbeddingResult> {
    return openAIEmbed(this.pools, this.#headers(target, opts), target, req, opts);
  }

  async close(): Promise<void> {}
}

type Choice = NonNullable<OpenAIChunk["choices"]>[number];

/** A choice of a chunk as a delta event; undefined when it carries nothing. */
function toDelta(index: number, choice: Choice): Extract<UpstreamEvent, { type: "delta" }> | undefined {
  const d = choice.delta;
  const toolCalls: ToolCallDelta[] | undefined = d?.tool_calls?.length
    ? d.tool_calls.map((t) => ({
        index: t.index,
        id: t.id,
        name: t.function?.name,
        arguments: t.function?.arguments,
      }))
    : undefined;
  const reasoning = d?.reasoning || d?.reasoning_content || undefined;
  const logprobs = choice.logprobs?.content?.length ? choice.logprobs.content : undefined;
  if (!d?.role && !d?.content && !toolCalls && !reasoning && !d?.refusal && !logprobs) return undefined;
  const out: Extract<UpstreamEvent, { type: "delta" }> = { type: "delta" };
  if (index !== 0) out.index = index;
  if (d?.role) out.role = d.role;
  if (d?.content) out.content = d.content;
  if (reasoning) out.reasoning = reasoning;
  if (d?.refusal) out.refusal = d.refusal;
  if (toolCalls) out.toolCalls = toolCalls;
  if (logprobs) out.logprobs = logprobs;
  return out;
}
