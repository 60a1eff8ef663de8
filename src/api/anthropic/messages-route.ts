import type { IncomingMessage, ServerResponse } from "node:http";
import type { Principal } from "../../auth/index.js";
import { DEFAULT_REQUEST_LIMITS, type RequestLimits } from "../../config/index.js";
import { check } from "../../encoding/index.js";
import type { Router } from "../../routing/index.js";
import { noteModel } from "../../telemetry/index.js";
import type { InternalErrorLog } from "../grpc/index.js";
import {
  callerSignal,
  errorHeaders,
  methodNotAllowed,
  readJson,
  routeHeaders,
  sendJson,
} from "../openai/index.js";
import { fromMessagesBody } from "./messages-body.js";
import { type AnthropicError, toAnthropicError } from "./messages-errors.js";
import { streamMessage, wholeMessage } from "./messages-response.js";

/**
 * The Anthropic Messages API, `POST /v1/messages`, on the HTTP/1.1 port: the request is mapped
 * onto the one internal request model (messages-body.ts), routed by the same router as every
 * other surface (so it may go to an OpenAI-compatible upstream as well as to Anthropic), and
 * answered as a Message or its event stream, with `x-sovr-decision-id`, `x-sovr-endpoint` and,
 * when some were not applied, `x-sovr-unapplied-parameters` (Messages API field names).
 * The key arrives as `x-api-key` (what Anthropic's SDKs send) or `authorization: Bearer`.
 *
 * @example
 *   const anthropic = new Anthropic({ baseURL: httpUrl, apiKey: sovrKey });
 *   await anthropic.messages.create({ model: "sim/chat-small", max_tokens: 256, messages });
 */
export interface AnthropicHttpDeps {
  router: Router;
  /** The caller of an HTTP request for `operation`; throws a ConnectError to refuse. */
  authenticate(req: IncomingMessage, operation: string): Promise<Principal>;
  /** Told of every error answered 500 (one log line: class and stack, never content). */
  onInternalError?: InternalErrorLog;
  /** Body size and per-part limits (SOVR_MAX_*_BYTES); the defaults when absent. */
  limits?: RequestLimits;
}

const OPERATION = "POST /v1/messages";

/** The Messages API as a request handler; false when the path is not its route. */
export function createAnthropicHttpHandler(
  deps: AnthropicHttpDeps,
): (req: IncomingMessage, res: ServerResponse) => boolean {
  return (req, res) => {
    const path = (req.url ?? "/").split("?")[0]!;
    if (path !== "/v1/messages") return false;
    const handled = req.method === "POST" ? messages(deps, req, res) : methodNotAllowed(res, "POST");
    handled.catch((err: unknown) => sendError(res, toAnthropicError(err, deps.onInternalError, OPERATION)));
    return true;
  };
}

function sendError(res: ServerResponse, err: AnthropicError): void {
  if (res.headersSent) return void res.destroy();
  sendJson(res, err.status, err.body, errorHeaders(err));
}

async function messages(deps: AnthropicHttpDeps, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const principal = await deps.authenticate(req, OPERATION);
  // Beta features change the request's meaning in ways this surface does not translate.
  check(req.headers["anthropic-beta"] === undefined, "anthropic-beta", "beta features are not supported");
  const limits = deps.limits ?? DEFAULT_REQUEST_LIMITS;
  const body = await readJson(req, res, limits.requestBytes);
  if (body === undefined) return;
  const workload = req.headers["x-sovr-workload"];
  const { route, stream, fieldNames } = fromMessagesBody(
    body,
    typeof workload === "string" ? workload : "",
    limits,
  );
  noteModel(req, route.model);
  const p = route.workload ? { ...principal, workload: route.workload } : principal;
  const events = deps.router.stream(route, p, callerSignal(req, res));
  if (stream) {
    const err = await streamMessage(res, events, {
      headers: (r) => routeHeaders(r, (p) => fieldNames[p] ?? p),
      toError: (e) => toAnthropicError(e, deps.onInternalError, OPERATION),
    });
    if (err) sendError(res, err);
    return;
  }
  const { route: r, body: message } = await wholeMessage(events);
  sendJson(
    res,
    200,
    message,
    routeHeaders(r, (p) => fieldNames[p] ?? p),
  );
}
