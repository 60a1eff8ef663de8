import type { IncomingMessage, ServerResponse } from "node:http";
import { Code } from "@connectrpc/connect";
import { type ByokAdmin, modelInScope, type Principal } from "../../auth/index.js";
import type { CatalogSnapshot } from "../../catalog/index.js";
import { DEFAULT_REQUEST_LIMITS, type RequestLimits } from "../../config/index.js";
import type { Router } from "../../routing/index.js";
import { KeyScopeError, NoEligibleEndpointError } from "../../routing/index.js";
import { noteModel } from "../../telemetry/index.js";
import type { InternalErrorLog } from "../grpc/index.js";
import { InvalidFieldError, toConnectError } from "../grpc/index.js";
import { byokAdmin } from "./byok-route.js";
import { fromOpenAIChatBody } from "./chat-body.js";
import { streamCompletion, wholeCompletion } from "./chat-stream.js";
import { embeddings } from "./embeddings-route.js";
import { methodNotAllowed, readJson, sendJson } from "./http-json.js";
import { callerSignal } from "./http-stream.js";
import { responsesRoute } from "./responses-route.js";

/**
 * The OpenAI-compatible HTTP API (docs/architecture.md §7) on the HTTP/1.1 port:
 *
 * - `POST /v1/chat/completions`, streaming (SSE) or not, with OpenRouter's `provider`, `models`
 *   and `region` (chat-body.ts: every field forwarded, translated or refused); the decision id in
 *   `x-sovr-decision-id`, the advisory parameters not applied in `x-sovr-unapplied-parameters`;
 * - `POST /v1/responses`: OpenAI's Responses API, stateless, on the same router (responses-route.ts);
 * - `GET /v1/models`: the models with at least one endpoint the caller's policy allows;
 * - `PUT|DELETE /v1/admin/byok/{tenant}/{provider}`, `POST …/{provider}/approve`,
 *   `GET /v1/admin/byok[/{tenant}]`: BYOK keys of the caller's own tenant (tenant admin).
 *
 * Errors have OpenAI's shape, `{error: {message, type, param, code}}`; the status comes from the
 * one domain → gRPC mapping ({@link toConnectError}) and then {@link HTTP_STATUS}. A failure
 * after the first token cannot change the status any more: it is sent as a chunk carrying
 * `error` and `finish_reason: "error"` on the open 200 stream, as OpenRouter does.
 *
 * @example
 *   const openai = new OpenAI({ baseURL: `${httpUrl}/v1`, apiKey });
 *   await openai.chat.completions.create({ model: "sim/chat-small", messages, provider: { zdr: true } });
 */
export interface OpenAIHttpDeps {
  router: Router;
  catalog: { current(): CatalogSnapshot };
  /**
   * The caller of an HTTP request for `operation` ("POST /v1/chat/completions", "GET /v1/models",
   * "PUT /v1/admin/byok", …); throws a ConnectError (Unauthenticated, PermissionDenied) to refuse.
   */
  authenticate(req: IncomingMessage, operation: string): Promise<Principal>;
  /** The BYOK rules shared with the gRPC ByokService. */
  byok?: ByokAdmin;
  /** Told of every error answered 500 (one log line: class and stack, never content). */
  onInternalError?: InternalErrorLog;
  /** Body and inline media limits (`SOVR_MAX_REQUEST_BYTES`, …); the defaults when absent. */
  limits?: RequestLimits;
}

/**
 * gRPC code → HTTP status and OpenAI error type. FailedPrecondition is split: no eligible
 * endpoint is 403 (the model exists and the request is valid, but policy and the caller's own
 * preferences forbid every endpoint — RFC 9110 §15.5.4 "understood but refuses"; retrying will
 * not help), while a missing policy bundle is the server's state, 503.
 */
const HTTP_STATUS: Partial<Record<Code, [number, string]>> = {
  [Code.InvalidArgument]: [400, "invalid_request_error"],
  [Code.Unauthenticated]: [401, "authentication_error"],
  [Code.PermissionDenied]: [403, "permission_error"],
  [Code.NotFound]: [404, "not_found_error"],
  [Code.FailedPrecondition]: [503, "service_unavailable"],
  [Code.ResourceExhausted]: [429, "rate_limit_error"],
  [Code.Canceled]: [499, "cancelled"],
  [Code.DeadlineExceeded]: [504, "timeout_error"],
  [Code.Unavailable]: [503, "service_unavailable"],
};

export interface OpenAIError {
  status: number;
  body: {
    error: { message: string; type: string; param: string | null; code: string | null; metadata?: unknown };
  };
  decisionId?: string;
  /** `Retry-After` (seconds) of a refusal by a limit (rate, tokens), to send as a header. */
  retryAfter?: string;
}

/**
 * Any error → OpenAI's error shape and HTTP status (via the one gRPC mapping). A 500 is
 * reported to `onInternal` (one log line), as the Connect side's interceptor does.
 */
export function toOpenAIError(err: unknown, onInternal?: InternalErrorLog, where = "http"): OpenAIError {
  const ce = toConnectError(err);
  const cause = ce.cause;
  let [status, type] = HTTP_STATUS[ce.code] ?? [500, "api_error"];
  if (status === 500) onInternal?.(ce, where);
  let code: string | null = Code[ce.code] ? snake(Code[ce.code]) : null;
  let metadata: unknown;
  if (cause instanceof NoEligibleEndpointError) {
    [status, type, code] = [403, "permission_error", "no_eligible_endpoint"];
    metadata = {
      candidates: cause.candidates.map((c) => ({
        endpoint_id: c.endpoint.id,
        model: c.endpoint.model,
        exclusions: c.exclusions,
      })),
    };
  }
  if (ce.code === Code.NotFound) code = "model_not_found";
  const decisionId = ce.metadata.get("x-sovr-decision-id") ?? undefined;
  const retryAfter = ce.metadata.get("retry-after") ?? undefined;
  return {
    status,
    decisionId,
    ...(retryAfter ? { retryAfter } : {}),
    body: {
      error: {
        message: ce.rawMessage,
        type,
        param: cause instanceof InvalidFieldError || cause instanceof KeyScopeError ? cause.field : null,
        code,
        ...(metadata ? { metadata } : {}),
      },
    },
  };
}

function snake(s: string): string {
  return s.replace(/([a-z])([A-Z])/g, "$1_$2").toLowerCase();
}

function sendError(res: ServerResponse, err: OpenAIError, headers: Record<string, string> = {}): void {
  if (res.headersSent) return void res.destroy();
  sendJson(res, err.status, err.body, { ...errorHeaders(err), ...headers });
}

/** The headers an error answer carries: its decision id, and Retry-After of a limit's refusal. */
export function errorHeaders(err: { decisionId?: string; retryAfter?: string }): Record<string, string> {
  return {
    ...(err.decisionId ? { "x-sovr-decision-id": err.decisionId } : {}),
    ...(err.retryAfter ? { "retry-after": err.retryAfter } : {}),
  };
}

/**
 * The HTTP API as a request handler; returns false when the path is not one of its routes, so
 * the HTTP/1.1 listener can hand the request on (to Connect).
 */
export function createOpenAIHttpHandler(
  deps: OpenAIHttpDeps,
): (req: IncomingMessage, res: ServerResponse) => boolean {
  return (req, res) => {
    const path = (req.url ?? "/").split("?")[0]!;
    let handled: Promise<void> | undefined;
    if (path === "/v1/chat/completions") {
      handled = req.method === "POST" ? chatCompletions(deps, req, res) : methodNotAllowed(res, "POST");
    } else if (path === "/v1/responses") {
      handled = req.method === "POST" ? responsesRoute(deps, req, res) : methodNotAllowed(res, "POST");
    } else if (path === "/v1/embeddings") {
      handled = req.method === "POST" ? embeddings(deps, req, res) : methodNotAllowed(res, "POST");
    } else if (path === "/v1/models") {
      handled = req.method === "GET" ? listModels(deps, req, res) : methodNotAllowed(res, "GET");
    } else if (path === "/v1/admin/byok" || path.startsWith("/v1/admin/byok/")) {
      handled = byokAdmin(deps, req, res, path);
    }
    if (!handled) return false;
    handled.catch((err: unknown) =>
      sendError(res, toOpenAIError(err, deps.onInternalError, operation(req, path))),
    );
    return true;
  };
}

/** The route an error is reported under: `PUT /v1/admin/byok`, not the tenant in the path. */
function operation(req: IncomingMessage, path: string): string {
  return `${req.method} ${path.startsWith("/v1/admin/byok") ? "/v1/admin/byok" : path}`;
}

async function chatCompletions(
  deps: OpenAIHttpDeps,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  const principal = await deps.authenticate(req, "POST /v1/chat/completions");
  const body = await readJson(req, res, (deps.limits ?? DEFAULT_REQUEST_LIMITS).requestBytes);
  if (body === undefined) return;
  const workload = req.headers["x-sovr-workload"];
  const snapshot = deps.catalog.current();
  const { route, options } = fromOpenAIChatBody(body, {
    workload: typeof workload === "string" ? workload : "",
    limits: deps.limits,
    declares: (name, models) =>
      models.some((m) => snapshot.byModel.get(m)?.some((e) => e.supportedParameters.includes(name))),
  });
  noteModel(req, route.model);
  const p = route.workload ? { ...principal, workload: route.workload } : principal;
  const signal = callerSignal(req, res);
  const events = deps.router.stream(route, p, signal);
  if (options.stream)
    await streamCompletion(res, events, options, (err) =>
      toOpenAIError(err, deps.onInternalError, "POST /v1/chat/completions"),
    );
  else await wholeCompletion(res, events, options);
}

/** Models with at least one endpoint the caller may use (policy and credentials), by dry run. */
async function listModels(deps: OpenAIHttpDeps, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const principal = await deps.authenticate(req, "GET /v1/models");
  const snapshot = deps.catalog.current();
  // A scoped key sees only the models it may ask for.
  const models = [...snapshot.byModel.keys()].filter((m) => modelInScope(principal.scope, m)).sort();
  const results = await Promise.all(
    models.map(async (model) => {
      const d = await deps.router.decide(
        {
          model,
          models: [],
          messages: [],
          provider: { allowFallbacks: true },
          region: null,
          labels: {},
          // An embedding model is listed when an embedding endpoint of it may serve.
          operation: snapshot.byModel.get(model)?.[0]?.kind ?? "chat",
          workload: "",
        },
        principal,
        { record: false },
      );
      if (d.outcome === "policy_error") throw d.error;
      // A model the caller may not use is left out of the list, not an error.
      return d.outcome === "routed" ? { model, endpoints: d.plan } : undefined;
    }),
  );
  const data = results
    .filter((r) => r !== undefined)
    .map(({ model, endpoints }) => ({
      id: model,
      object: "model",
      created: 0,
      owned_by: model.split("/")[0] ?? model,
      context_length: Math.max(...endpoints.map((e) => e.contextLength)),
      endpoints: endpoints.map((e) => e.id).sort(),
    }));
  sendJson(res, 200, { object: "list", data });
}
