/**
 * Router events → the Responses API's server-sent events, in the order the `openai` SDK's
 * `responses.stream()` accumulates them: `response.created`, `response.in_progress`, then the
 * output items' events (responses-output.ts), then `response.completed` (or
 * `response.incomplete` when the output limit or a content filter cut the answer). Every event
 * carries `sequence_number`; deltas carry `obfuscation` padding unless
 * `stream_options.include_obfuscation` is false (OpenAI's side-channel mitigation).
 *
 * The status line waits for the router's route (the first token), so a failure before it is a
 * plain HTTP error; after it the 200 is sent, and a failure is `response.failed` followed by an
 * `error` event.
 */
import type { ServerResponse } from "node:http";
import { pooledRandomBytes } from "../../encoding/index.js";
import type { RouterEvent } from "../../routing/index.js";
import { writeText } from "./http-stream.js";
import type { OpenAIError } from "./openai-http.js";
import type { ResponsesOptions } from "./responses-body.js";
import { OutputBuilder, type StreamEvent } from "./responses-output.js";
import { finishStatus, type ResponseContext, responseObject } from "./responses-result.js";
import { routeHeaders } from "./route-headers.js";

export async function streamResponse(
  res: ServerResponse,
  events: AsyncGenerator<RouterEvent>,
  options: ResponsesOptions,
  createdAt: number,
  toError: (err: unknown) => OpenAIError,
  sendError: (err: OpenAIError) => void,
): Promise<void> {
  let seq = 0;
  const queue: StreamEvent[] = [];
  const flush = async () => {
    for (const ev of queue.splice(0)) {
      if (res.destroyed) return;
      if (options.obfuscation && ev.type.endsWith(".delta")) ev.obfuscation = padding();
      await writeText(
        res,
        `event: ${ev.type}\ndata: ${JSON.stringify({ ...ev, sequence_number: seq++ })}\n\n`,
      );
    }
  };
  let ctx: ResponseContext | undefined;
  let builder: OutputBuilder | undefined;
  try {
    for await (const ev of events) {
      if (res.destroyed) break;
      if (ev.type === "route") {
        ctx = { route: ev, createdAt, echo: options.echo };
        builder = new OutputBuilder(ev.decisionId.replaceAll("-", ""), options.logprobs, (e) =>
          queue.push(e),
        );
        res.writeHead(200, {
          "content-type": "text/event-stream",
          "cache-control": "no-cache",
          ...routeHeaders(ev),
        });
        const shell = responseObject(ctx, "in_progress", []);
        queue.push(
          { type: "response.created", response: shell },
          { type: "response.in_progress", response: shell },
        );
      } else if (ev.type === "delta") builder!.add(ev);
      else {
        const status = finishStatus(ev);
        builder!.finish(status);
        queue.push({
          type: status === "completed" ? "response.completed" : "response.incomplete",
          response: responseObject(ctx!, status, builder!.output, { finish: ev }),
        });
      }
      await flush();
    }
    if (!res.destroyed) res.end();
  } catch (err) {
    const e = toError(err);
    if (!res.headersSent) return sendError(e);
    if (res.destroyed) return;
    // Mid-stream: the 200 is already sent; the error travels as events. `response.failed` first
    // (the response's final state), then `error`, on which the SDK's stream ends with an error.
    const { message, code, param } = e.body.error;
    if (ctx && builder) {
      const error = { code: e.status === 429 ? "rate_limit_exceeded" : "server_error", message };
      queue.push({
        type: "response.failed",
        response: responseObject(ctx, "failed", builder.output, { error }),
      });
    }
    queue.push({ type: "error", code, message, param });
    await flush();
    res.end();
  } finally {
    await events.return(undefined);
  }
}

/** 1 to 16 random characters: delta sizes no longer give away token lengths. */
function padding(): string {
  const bytes = pooledRandomBytes(13);
  return bytes.toString("base64url").slice(0, 1 + (bytes[0]! % 16));
}
