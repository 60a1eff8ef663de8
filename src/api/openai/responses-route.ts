/**
 * `POST /v1/responses`: OpenAI's Responses API, stateless, on the same router as
 * `/v1/chat/completions` — the body becomes the one internal request (responses-body.ts), so
 * policy, the decision record and failover are the chat path's, and any upstream API serves it.
 * The answer is a Response object (responses-result.ts) or its event stream
 * (responses-stream.ts), with `x-sovr-decision-id`, `x-sovr-endpoint` and, when the endpoint
 * ignored advisory parameters, `x-sovr-unapplied-parameters`.
 *
 * @example
 *   const openai = new OpenAI({ baseURL: `${httpUrl}/v1`, apiKey });
 *   const r = await openai.responses.create({ model: "sim/chat-small", input: "Hello", store: false });
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { DEFAULT_REQUEST_LIMITS } from "../../config/index.js";
import { noteModel } from "../../telemetry/index.js";
import { readJson, sendJson } from "./http-json.js";
import { callerSignal } from "./http-stream.js";
import { errorHeaders, type OpenAIError, type OpenAIHttpDeps, toOpenAIError } from "./openai-http.js";
import { fromResponsesBody } from "./responses-body.js";
import { collectResponse } from "./responses-result.js";
import { streamResponse } from "./responses-stream.js";
import { routeHeaders } from "./route-headers.js";

const OPERATION = "POST /v1/responses";

export async function responsesRoute(
  deps: OpenAIHttpDeps,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  const principal = await deps.authenticate(req, OPERATION);
  const limits = deps.limits ?? DEFAULT_REQUEST_LIMITS;
  const body = await readJson(req, res, limits.requestBytes);
  if (body === undefined) return;
  const createdAt = Math.floor(Date.now() / 1000);
  const workload = req.headers["x-sovr-workload"];
  const { route, options } = fromResponsesBody(body, typeof workload === "string" ? workload : "", limits);
  noteModel(req, route.model);
  const p = route.workload ? { ...principal, workload: route.workload } : principal;
  const events = deps.router.stream(route, p, callerSignal(req, res));
  if (options.stream) {
    await streamResponse(
      res,
      events,
      options,
      createdAt,
      (err) => toOpenAIError(err, deps.onInternalError, OPERATION),
      (err) => sendError(res, err),
    );
    return;
  }
  const { route: routed, body: response } = await collectResponse(events, options, createdAt);
  sendJson(res, 200, response, routeHeaders(routed));
}

function sendError(res: ServerResponse, err: OpenAIError): void {
  if (res.headersSent) return void res.destroy();
  sendJson(res, err.status, err.body, errorHeaders(err));
}
