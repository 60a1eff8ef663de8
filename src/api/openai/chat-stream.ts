/**
 * Writing a routed chat completion to the caller: as SSE chunks (`stream: true`) or as one
 * `chat.completion` object. Response shapes live in chat-response.ts.
 */

import type { ServerResponse } from "node:http";
import type { RouterEvent } from "../../routing/index.js";
import type { OpenAIChatOptions } from "./chat-body.js";
import {
  CompletionBuilder,
  chunkChoice,
  completionId,
  type FinishEvent,
  finishReasons,
  type RouteEvent,
  usageJson,
} from "./chat-response.js";
import { sendJson } from "./http-json.js";
import { writeText } from "./http-stream.js";
import { routeHeaders } from "./route-headers.js";

/** An error as the stream's last event: OpenAI's error body and the HTTP status it would have had. */
export type StreamError = (err: unknown) => { status: number; body: { error: Record<string, unknown> } };

/**
 * SSE: a chunk per delta, a chunk with every choice's finish reason, the usage chunk when asked
 * for, `[DONE]`. Before the first token an error is thrown (the caller answers it with its
 * status); after it, the 200 is sent and the error travels as a chunk (OpenRouter's way).
 */
export async function streamCompletion(
  res: ServerResponse,
  events: AsyncGenerator<RouterEvent>,
  options: OpenAIChatOptions,
  toError: StreamError,
): Promise<void> {
  let route: RouteEvent | undefined;
  const created = Math.floor(Date.now() / 1000);
  const chunk = (choices: unknown[], extra: Record<string, unknown> = {}) =>
    `data: ${JSON.stringify({ id: completionId(route!), object: "chat.completion.chunk", created, model: route!.endpoint.model, provider: route!.endpoint.provider, choices, ...extra })}\n\n`;
  try {
    for await (const ev of events) {
      if (res.destroyed) break;
      if (ev.type === "route") {
        route = ev;
        // Headers wait for the first token: until then a failover may still pick another route.
        res.writeHead(200, {
          "content-type": "text/event-stream",
          "cache-control": "no-cache",
          ...routeHeaders(ev),
        });
      } else if (ev.type === "delta") {
        await writeText(res, chunk([chunkChoice(ev, options.excludeReasoning)]));
      } else {
        const finishes = finishReasons(ev).map((c) => ({
          index: c.index,
          delta: {},
          finish_reason: c.finishReason,
        }));
        await writeText(res, chunk(finishes));
        if (options.includeUsage) await writeText(res, chunk([], { usage: usageJson(ev.usage) }));
      }
    }
    if (!res.destroyed) res.end("data: [DONE]\n\n");
  } catch (err) {
    if (!res.headersSent) throw err;
    if (res.destroyed) return;
    const e = toError(err);
    res.end(
      chunk([{ index: 0, delta: { content: "" }, finish_reason: "error" }], {
        error: { ...e.body.error, status: e.status },
      }),
    );
  } finally {
    await events.return(undefined);
  }
}

/** The whole completion as one `chat.completion` object. */
export async function wholeCompletion(
  res: ServerResponse,
  events: AsyncGenerator<RouterEvent>,
  options: OpenAIChatOptions,
): Promise<void> {
  let route: RouteEvent | undefined;
  let finish: FinishEvent | undefined;
  const builder = new CompletionBuilder(options.excludeReasoning);
  for await (const ev of events) {
    if (ev.type === "route") route = ev;
    else if (ev.type === "delta") builder.add(ev);
    else finish = ev;
  }
  if (!route || !finish) throw new Error("router stream ended without a route and a finish");
  sendJson(
    res,
    200,
    {
      id: completionId(route),
      object: "chat.completion",
      created: Math.floor(Date.now() / 1000),
      model: route.endpoint.model,
      provider: route.endpoint.provider,
      choices: builder.choices(finish),
      usage: usageJson(finish.usage),
    },
    routeHeaders(route),
  );
}
