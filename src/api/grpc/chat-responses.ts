/**
 * Router events → `sovereign.v1` chat responses: one stream message per event for ChatStream,
 * and {@link ChatResponseBuilder} gathering the choices of a whole answer for Chat.
 */
import type { MessageInitShape } from "@bufbuild/protobuf";
import type {
  ChatResponseSchema,
  ChatStreamResponseSchema,
  ChoiceSchema,
  TokenLogprobSchema,
  UsageSchema,
} from "../../gen/sovereign/v1/router_pb.js";
import type { RouterEvent } from "../../routing/index.js";
import type { TokenLogprob } from "../../upstream/index.js";

type RouteEvent = Extract<RouterEvent, { type: "route" }>;
type DeltaEvent = Extract<RouterEvent, { type: "delta" }>;
type FinishEvent = Extract<RouterEvent, { type: "finish" }>;

/** The response header and trailer naming the advisory parameters that were not sent. */
export const UNAPPLIED_HEADER = "x-sovr-unapplied-parameters";

export function routeMessage(ev: RouteEvent) {
  return {
    decisionId: ev.decisionId,
    endpointId: ev.endpoint.id,
    provider: ev.endpoint.provider,
    model: ev.endpoint.model,
    attempt: ev.attempt,
    unappliedParameters: [...ev.unappliedParameters],
  };
}

/** Token counts and cost; the details only where the upstream reported them. */
export function usageMessage(u: FinishEvent["usage"]): MessageInitShape<typeof UsageSchema> {
  return {
    promptTokens: u.promptTokens,
    completionTokens: u.completionTokens,
    totalTokens: u.promptTokens + u.completionTokens,
    costMicroUsd: BigInt(u.costMicroUsd),
    cachedPromptTokens: u.cachedPromptTokens,
    cacheWritePromptTokens: u.cacheWritePromptTokens,
    reasoningTokens: u.reasoningTokens,
    audioPromptTokens: u.audioPromptTokens,
    audioCompletionTokens: u.audioCompletionTokens,
  };
}

const bytesOf = (b: number[] | null) => (b === null ? undefined : Uint8Array.from(b));

function logprobMessages(
  l: readonly TokenLogprob[] | undefined,
): MessageInitShape<typeof TokenLogprobSchema>[] {
  return (l ?? []).map((t) => ({
    token: t.token,
    logprob: t.logprob,
    bytes: bytesOf(t.bytes),
    topLogprobs: t.top_logprobs.map((a) => ({ token: a.token, logprob: a.logprob, bytes: bytesOf(a.bytes) })),
  }));
}

export function toStreamResponse(ev: RouterEvent): MessageInitShape<typeof ChatStreamResponseSchema> {
  switch (ev.type) {
    case "route":
      return { event: { case: "route", value: routeMessage(ev) } };
    case "delta":
      return {
        event: {
          case: "delta",
          value: {
            index: ev.index ?? 0,
            role: ev.role ?? "",
            content: ev.content ?? "",
            reasoning: ev.reasoning ?? "",
            refusal: ev.refusal ?? "",
            toolCalls: (ev.toolCalls ?? []).map((t) => ({
              index: t.index,
              id: t.id ?? "",
              functionName: t.name ?? "",
              functionArguments: t.arguments ?? "",
            })),
            logprobs: logprobMessages(ev.logprobs),
          },
        },
      };
    case "finish":
      return {
        event: {
          case: "finish",
          value: {
            finishReason: ev.finishReason,
            usage: usageMessage(ev.usage),
            choices: (ev.choices ?? []).map((c) => ({ index: c.index, finishReason: c.finishReason })),
          },
        },
      };
  }
}

interface ToolCallAcc {
  id: string;
  type: string;
  functionName: string;
  functionArguments: string;
}

interface ChoiceAcc {
  content: string;
  reasoning: string;
  refusal: string;
  toolCalls: Map<number, ToolCallAcc>;
  logprobs: TokenLogprob[];
  finishReason: string;
}

/** Gathers a routed stream into one ChatResponse: every choice by index, choice 0 on top. */
export class ChatResponseBuilder {
  #route: ReturnType<typeof routeMessage> | undefined;
  #usage: MessageInitShape<typeof UsageSchema> | undefined;
  readonly #choices = new Map<number, ChoiceAcc>();

  #choice(index: number): ChoiceAcc {
    let c = this.#choices.get(index);
    if (!c) {
      c = { content: "", reasoning: "", refusal: "", toolCalls: new Map(), logprobs: [], finishReason: "" };
      this.#choices.set(index, c);
    }
    return c;
  }

  add(ev: RouterEvent): void {
    if (ev.type === "route") this.#route = routeMessage(ev);
    else if (ev.type === "delta") this.#delta(ev);
    else {
      this.#choice(0).finishReason = ev.finishReason;
      for (const c of ev.choices ?? []) this.#choice(c.index).finishReason = c.finishReason;
      this.#usage = usageMessage(ev.usage);
    }
  }

  #delta(ev: DeltaEvent): void {
    const c = this.#choice(ev.index ?? 0);
    if (ev.content) c.content += ev.content;
    if (ev.reasoning) c.reasoning += ev.reasoning;
    if (ev.refusal) c.refusal += ev.refusal;
    if (ev.logprobs) c.logprobs.push(...ev.logprobs);
    for (const t of ev.toolCalls ?? []) {
      const cur = c.toolCalls.get(t.index) ?? {
        id: "",
        type: "function",
        functionName: "",
        functionArguments: "",
      };
      if (t.id) cur.id = t.id;
      if (t.name) cur.functionName += t.name;
      if (t.arguments) cur.functionArguments += t.arguments;
      c.toolCalls.set(t.index, cur);
    }
  }

  build(): MessageInitShape<typeof ChatResponseSchema> {
    this.#choice(0);
    const choices: MessageInitShape<typeof ChoiceSchema>[] = [...this.#choices.entries()]
      .sort(([a], [b]) => a - b)
      .map(([index, c]) => ({
        index,
        message: { role: "assistant", content: c.content, toolCalls: [...c.toolCalls.values()] },
        finishReason: c.finishReason,
        reasoning: c.reasoning,
        refusal: c.refusal,
        logprobs: logprobMessages(c.logprobs),
      }));
    const first = choices[0]!;
    return {
      route: this.#route,
      message: first.message,
      finishReason: first.finishReason ?? "",
      usage: this.#usage,
      choices,
    };
  }
}
