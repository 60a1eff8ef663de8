/**
 * The router's events → OpenAI Chat Completions responses: the `chat.completion` object and the
 * `chat.completion.chunk` events, choice by choice (`n` > 1), with logprobs, refusal, OpenRouter's
 * `reasoning`, and usage with its details and cost. Shapes follow the `openai` SDK's
 * `ChatCompletion` / `ChatCompletionChunk` types.
 */
import type { RouterEvent } from "../../routing/index.js";
import type { TokenLogprob } from "../../upstream/index.js";

export type RouteEvent = Extract<RouterEvent, { type: "route" }>;
export type DeltaEvent = Extract<RouterEvent, { type: "delta" }>;
export type FinishEvent = Extract<RouterEvent, { type: "finish" }>;

export function completionId(route: RouteEvent): string {
  return `chatcmpl-${route.decisionId}`;
}

/** OpenAI's usage object; the details only where the upstream reported them; `cost` in USD. */
export function usageJson(u: FinishEvent["usage"]): Record<string, unknown> {
  const out: Record<string, unknown> = {
    prompt_tokens: u.promptTokens,
    completion_tokens: u.completionTokens,
    total_tokens: u.promptTokens + u.completionTokens,
  };
  const prompt = defined({ cached_tokens: u.cachedPromptTokens, audio_tokens: u.audioPromptTokens });
  if (prompt) out.prompt_tokens_details = prompt;
  const completion = defined({ reasoning_tokens: u.reasoningTokens, audio_tokens: u.audioCompletionTokens });
  if (completion) out.completion_tokens_details = completion;
  // OpenRouter reports cost in USD; ours is at catalog prices (cached prompt tokens at their price).
  out.cost = u.costMicroUsd / 1e6;
  return out;
}

function defined(o: Record<string, number | undefined>): Record<string, number> | undefined {
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(o)) if (v !== undefined) out[k] = v;
  return Object.keys(out).length > 0 ? out : undefined;
}

/** A delta event as one chunk choice (`finish_reason: null`). */
export function chunkChoice(ev: DeltaEvent, excludeReasoning: boolean): Record<string, unknown> {
  const delta: Record<string, unknown> = {};
  if (ev.role) delta.role = ev.role;
  if (ev.content) delta.content = ev.content;
  if (ev.reasoning && !excludeReasoning) delta.reasoning = ev.reasoning;
  if (ev.refusal) delta.refusal = ev.refusal;
  if (ev.toolCalls?.length) {
    delta.tool_calls = ev.toolCalls.map((t) => ({
      index: t.index,
      ...(t.id ? { id: t.id, type: "function" } : {}),
      function: { ...(t.name ? { name: t.name } : {}), arguments: t.arguments ?? "" },
    }));
  }
  const choice: Record<string, unknown> = { index: ev.index ?? 0, delta };
  if (ev.logprobs) choice.logprobs = { content: ev.logprobs, refusal: null };
  choice.finish_reason = null;
  return choice;
}

/** Every choice's finish reason (choice 0 alone unless the upstream gave several). */
export function finishReasons(ev: FinishEvent): { index: number; finishReason: string }[] {
  return ev.choices && ev.choices.length > 0 ? ev.choices : [{ index: 0, finishReason: ev.finishReason }];
}

interface Choice {
  content: string;
  reasoning: string;
  refusal: string;
  toolCalls: Map<number, { id: string; type: "function"; function: { name: string; arguments: string } }>;
  logprobs: TokenLogprob[] | undefined;
}

/** Assembles the deltas of a stream into the choices of one `chat.completion`. */
export class CompletionBuilder {
  readonly #choices = new Map<number, Choice>();

  constructor(private readonly excludeReasoning: boolean) {}

  #choice(index: number): Choice {
    let c = this.#choices.get(index);
    if (!c) {
      c = { content: "", reasoning: "", refusal: "", toolCalls: new Map(), logprobs: undefined };
      this.#choices.set(index, c);
    }
    return c;
  }

  add(ev: DeltaEvent): void {
    const c = this.#choice(ev.index ?? 0);
    if (ev.content) c.content += ev.content;
    if (ev.reasoning) c.reasoning += ev.reasoning;
    if (ev.refusal) c.refusal += ev.refusal;
    if (ev.logprobs) c.logprobs = [...(c.logprobs ?? []), ...ev.logprobs];
    for (const t of ev.toolCalls ?? []) {
      const cur = c.toolCalls.get(t.index) ?? {
        id: "",
        type: "function" as const,
        function: { name: "", arguments: "" },
      };
      if (t.id) cur.id = t.id;
      if (t.name) cur.function.name += t.name;
      if (t.arguments) cur.function.arguments += t.arguments;
      c.toolCalls.set(t.index, cur);
    }
  }

  /** The `choices` of the completion, in index order, each with its finish reason. */
  choices(finish: FinishEvent): Record<string, unknown>[] {
    const reasons = new Map(finishReasons(finish).map((r) => [r.index, r.finishReason]));
    const indices = [...new Set([...this.#choices.keys(), ...reasons.keys()])].sort((a, b) => a - b);
    return indices.map((index) => {
      const c = this.#choice(index);
      const message: Record<string, unknown> = {
        role: "assistant",
        content: c.toolCalls.size > 0 && !c.content ? null : c.content,
        refusal: c.refusal || null,
      };
      if (c.toolCalls.size > 0)
        message.tool_calls = [...c.toolCalls.entries()].sort(([a], [b]) => a - b).map(([, t]) => t);
      if (c.reasoning && !this.excludeReasoning) message.reasoning = c.reasoning;
      return {
        index,
        message,
        logprobs: c.logprobs ? { content: c.logprobs, refusal: null } : null,
        finish_reason: reasons.get(index) ?? finish.finishReason,
      };
    });
  }
}
