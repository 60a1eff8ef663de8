/**
 * Router events → the Responses API's `Response` object (openai 6.49.0 `Response`): id
 * `resp_<decision id>`, the output items, status and usage, and the request's settings echoed
 * as OpenAI echoes them. `store` is always false: nothing is kept. `output_text` is left out, as
 * OpenAI's API does: the SDKs compute it from the output items.
 */
import type { RouterEvent } from "../../routing/index.js";
import type { ResponseEcho, ResponsesOptions } from "./responses-body.js";
import { type ItemStatus, OutputBuilder, type OutputItem } from "./responses-output.js";

export type RouteEvent = Extract<RouterEvent, { type: "route" }>;
type FinishEvent = Extract<RouterEvent, { type: "finish" }>;
export type ResponseStatus = "in_progress" | "completed" | "incomplete" | "failed";

export interface ResponseContext {
  route: RouteEvent;
  createdAt: number;
  echo: ResponseEcho;
}

export function responseId(route: RouteEvent): string {
  return `resp_${route.decisionId}`;
}

/** The Response object in a given state (the stream sends it at created, in_progress and the end). */
export function responseObject(
  ctx: ResponseContext,
  status: ResponseStatus,
  output: readonly OutputItem[],
  end: { finish?: FinishEvent; error?: { code: string; message: string } } = {},
): Record<string, unknown> {
  const { echo } = ctx;
  const incomplete = end.finish ? incompleteReason(end.finish.finishReason) : undefined;
  return {
    id: responseId(ctx.route),
    object: "response",
    created_at: ctx.createdAt,
    status,
    ...(status === "completed" ? { completed_at: Math.floor(Date.now() / 1000) } : {}),
    background: false,
    error: end.error ?? null,
    incomplete_details: incomplete ? { reason: incomplete } : null,
    instructions: echo.instructions,
    max_output_tokens: echo.max_output_tokens,
    metadata: echo.metadata,
    model: ctx.route.endpoint.model,
    output: structuredClone(output),
    parallel_tool_calls: echo.parallel_tool_calls,
    previous_response_id: null,
    reasoning: echo.reasoning,
    store: false,
    temperature: echo.temperature,
    text: echo.text,
    tool_choice: echo.tool_choice,
    tools: echo.tools,
    top_logprobs: echo.top_logprobs,
    top_p: echo.top_p,
    truncation: "disabled",
    usage: end.finish ? usageJson(end.finish.usage) : null,
    ...(echo.user !== undefined ? { user: echo.user } : {}),
    ...(echo.safety_identifier !== undefined ? { safety_identifier: echo.safety_identifier } : {}),
    ...(echo.prompt_cache_key !== undefined ? { prompt_cache_key: echo.prompt_cache_key } : {}),
    ...(echo.prompt_cache_retention !== undefined
      ? { prompt_cache_retention: echo.prompt_cache_retention }
      : {}),
    ...(echo.service_tier !== undefined ? { service_tier: echo.service_tier } : {}),
  };
}

/**
 * Chat finish reason → why the Response is incomplete: `length` is the output limit
 * (`max_output_tokens`), `content_filter` the provider's filter; others complete.
 */
function incompleteReason(finishReason: string): string | undefined {
  if (finishReason === "length") return "max_output_tokens";
  if (finishReason === "content_filter") return "content_filter";
  return undefined;
}

export function finishStatus(finish: FinishEvent): Extract<ItemStatus, string> {
  return incompleteReason(finish.finishReason) ? "incomplete" : "completed";
}

/** Usage with its details; `cost` (USD at catalog prices) as on the chat path. */
export function usageJson(u: FinishEvent["usage"]) {
  return {
    input_tokens: u.promptTokens,
    input_tokens_details: { cached_tokens: u.cachedPromptTokens ?? 0 },
    output_tokens: u.completionTokens,
    output_tokens_details: { reasoning_tokens: u.reasoningTokens ?? 0 },
    total_tokens: u.promptTokens + u.completionTokens,
    cost: u.costMicroUsd / 1e6,
  };
}

/** Every event of a non-streaming answer → the whole Response and its route. */
export async function collectResponse(
  events: AsyncIterable<RouterEvent>,
  options: Pick<ResponsesOptions, "echo" | "logprobs">,
  createdAt: number,
): Promise<{ route: RouteEvent; body: Record<string, unknown> }> {
  let route: RouteEvent | undefined;
  let builder: OutputBuilder | undefined;
  let finish: FinishEvent | undefined;
  for await (const ev of events) {
    if (ev.type === "route") {
      route = ev;
      builder = new OutputBuilder(ev.decisionId.replaceAll("-", ""), options.logprobs);
    } else if (ev.type === "delta") builder!.add(ev);
    else finish = ev;
  }
  if (!route || !builder || !finish) throw new Error("router stream ended without a route and a finish");
  const status = finishStatus(finish);
  builder.finish(status);
  const ctx = { route, createdAt, echo: options.echo };
  return { route, body: responseObject(ctx, status, builder.output, { finish }) };
}
