import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from "node:http";
import type { Http2ServerRequest, Http2ServerResponse } from "node:http2";
import type { Logger } from "pino";
import { failSpan, type Span, type Tracing } from "./tracing.js";

type Req = IncomingMessage | Http2ServerRequest;
type Res = ServerResponse | Http2ServerResponse;
type Handler = (req: Req, res: Res) => void;

/** What a request's handling learnt about it, for its access line: ids and names only. */
export interface RequestNote {
  tenant?: string;
  keyId?: string;
  model?: string;
}

const notes = new WeakMap<object, RequestNote>();

/**
 * The note of `req`, to fill in where the value is known (the caller after authentication,
 * the model after parsing); undefined for a request no access line is written for.
 */
export function requestNote(req: object): RequestNote | undefined {
  return notes.get(req);
}

/** The model a request asked for, for its access line (no-op for a request without a line). */
export function noteModel(req: object, model: string): void {
  const note = notes.get(req);
  if (note) note.model = model;
}

/** Probes and scrapes: many a minute, nothing to audit; logged at debug, never traced. */
const QUIET = new Set(["/healthz", "/readyz", "/metrics"]);

/** HTTP API paths → their API and operation (bounded labels; anything else is "http"). */
const HTTP_ROUTES: Readonly<Record<string, readonly [string, string]>> = {
  "/v1/chat/completions": ["openai", "chat.completions"],
  "/v1/responses": ["openai", "responses"],
  "/v1/embeddings": ["openai", "embeddings"],
  "/v1/models": ["openai", "models"],
  "/v1/messages": ["anthropic", "messages"],
  "/v1/admin/byok": ["openai", "admin.byok"],
};

/**
 * One access line per request at info, on both ports and every surface (Connect, gRPC,
 * gRPC-Web, the OpenAI and Anthropic APIs): method, API, operation, tenant, key id, model,
 * endpoint, outcome, status, latency, decision id and trace id — never content, headers or
 * keys. With tracing on, the same wrapper opens the request's server span (the caller's
 * `traceparent` as its parent) and closes it with the status and the decision id.
 *
 * The decision id and the endpoint are read from the response's own headers
 * (`x-sovr-decision-id`, `x-sovr-endpoint`), the gRPC status from its trailers, so no surface
 * has to report them twice.
 */
export function accessLogged(handler: Handler, logger: Logger, tracing: Tracing): Handler {
  const access = accessRecorder(logger, tracing);
  return (req, res) => {
    const path = (req.url ?? "/").split("?", 1)[0]!;
    if (QUIET.has(path)) return handler(req, res);
    const sent = captureHeaders(res);
    let end: AccessEnd | undefined;
    const done = () => {
      if (!end) return;
      end({
        status: res.statusCode,
        grpcStatus: sent.grpcStatus ?? sentHeader(res, sent, "grpc-status"),
        aborted: !res.writableFinished,
        decisionId: sentHeader(res, sent, "x-sovr-decision-id"),
        endpoint: sentHeader(res, sent, "x-sovr-endpoint"),
      });
      end = undefined;
    };
    res.once("finish", done);
    res.once("close", done);
    end = access.begin(req, req.method ?? "", path, req.headers, () => handler(req, res));
  };
}

/** How a request ended, for its access line and span. */
export interface AccessOutcome {
  status: number;
  /** The gRPC status (trailer or trailers-only header), for RPCs. */
  grpcStatus?: string;
  /** The response was not completely written (the peer went away, or the stream was reset). */
  aborted: boolean;
  decisionId?: string;
  endpoint?: string;
}
/** Called once when the request is over: writes the access line and ends the span. */
export type AccessEnd = (outcome: AccessOutcome) => void;

/**
 * The access line and server span of one request, without Node's request/response objects (the
 * gRPC port serves its calls on raw HTTP/2 streams, src/api/transport/grpc-stream.ts).
 * {@link accessLogged} is this for a request/response pair.
 */
export interface AccessRecorder {
  /**
   * Starts the line of a request on `path` (no query) with `key` as its note's key
   * ({@link requestNote}) and runs `run` (its handling) inside its server span when tracing is
   * on. Returns the function that ends it.
   */
  begin(
    key: object,
    method: string,
    path: string,
    headers: Readonly<Record<string, unknown>>,
    run: () => void,
  ): AccessEnd;
}

/** The BYOK routes: one label for all of them (a provider in the path is not a label of its own). */
const BYOK_ROUTE = "/v1/admin/byok";
const BYOK_PREFIX = `${BYOK_ROUTE}/`;

export function accessRecorder(logger: Logger, tracing: Tracing): AccessRecorder {
  return {
    begin(key, method, path, headers, run) {
      const started = performance.now();
      const note: RequestNote = {};
      notes.set(key, note);
      const contentType = String(headers["content-type"] ?? "");
      const routePath = path.startsWith(BYOK_PREFIX) ? BYOK_ROUTE : path;
      const route = HTTP_ROUTES[routePath];
      // `/package.Service/Method`: Connect, gRPC or gRPC-Web.
      const rpc = route === undefined && /^\/\w+(\.\w+)+\/\w+$/.test(path);
      const api = route?.[0] ?? (rpc ? rpcApi(contentType) : "http");
      const operation = route?.[1] ?? (rpc ? path.slice(1) : undefined);
      let span: Span | undefined;
      let ended = false;
      const end: AccessEnd = (o) => {
        if (ended) return;
        ended = true;
        const { status, grpcStatus, decisionId, endpoint } = o;
        const outcome = o.aborted
          ? "aborted"
          : grpcStatus !== undefined && grpcStatus !== "0"
            ? "error"
            : status >= 500
              ? "error"
              : status >= 400
                ? "refused"
                : "ok";
        // The line's fields are not even gathered when info lines are off (SOVR_LOG_LEVEL=warn).
        if (logger.isLevelEnabled("info")) {
          const latencyMs = Math.round((performance.now() - started) * 1000) / 1000;
          const traceId = span?.spanContext().traceId;
          logger.info(
            {
              method,
              api,
              operation,
              tenant: note.tenant,
              keyId: note.keyId,
              model: note.model,
              endpoint,
              outcome,
              status,
              grpcStatus: grpcStatus === undefined ? undefined : Number(grpcStatus),
              latencyMs,
              decisionId,
              traceId,
            },
            "request",
          );
        }
        if (span) {
          span.setAttribute("http.response.status_code", status);
          if (grpcStatus !== undefined) span.setAttribute("rpc.grpc.status_code", Number(grpcStatus));
          if (decisionId) span.setAttribute("sovr.decision_id", decisionId);
          if (endpoint) span.setAttribute("sovr.endpoint", endpoint);
          if (note.tenant) span.setAttribute("sovr.tenant", note.tenant);
          if (note.model) span.setAttribute("sovr.model", note.model);
          if (outcome !== "ok") failSpan(span, outcome === "refused" ? String(status) : outcome);
          span.end();
        }
      };
      if (!tracing.enabled) {
        run();
        return end;
      }
      const name = operation && rpc ? operation : `${method} ${route ? routePath : ""}`.trim();
      const attributes = rpc
        ? { "rpc.system": api === "http" ? "connect_rpc" : api, "rpc.method": operation ?? "" }
        : { "http.request.method": method, "http.route": route ? routePath : "" };
      tracing.serve(name, headers, attributes, (s) => {
        span = s;
        run();
      });
      return end;
    },
  };
}

/** Connect's protocols by content type: gRPC, gRPC-Web or Connect. */
function rpcApi(contentType: string): string {
  if (contentType.startsWith("application/grpc-web")) return "grpc-web";
  if (contentType.startsWith("application/grpc")) return "grpc";
  return "connect";
}

function header(h: OutgoingHttpHeaders | undefined, name: string): string | undefined {
  const v = h?.[name];
  return v === undefined ? undefined : String(Array.isArray(v) ? v[0] : v);
}

/** What {@link captureHeaders} saw of a response as it was written. */
interface Sent {
  /** The header object passed to `writeHead`, kept as is (read only when the line is written). */
  headers?: OutgoingHttpHeaders;
  /** `writeHead` was called (so the response's own headers are those it sent). */
  written: boolean;
  grpcStatus?: string;
}

/**
 * A header of the response as sent: `writeHead`'s own object first, then the headers set on
 * the response before it (set ones cannot change after `writeHead`); before `writeHead`, the
 * headers set so far.
 */
function sentHeader(res: Res, sent: Sent, name: string): string | undefined {
  const own = sent.written ? header(sent.headers, name) : undefined;
  if (own !== undefined) return own;
  const v = res.getHeader(name);
  return v === undefined ? undefined : String(Array.isArray(v) ? v[0] : v);
}

/**
 * The headers passed to `writeHead` (where every surface and connect put theirs; `getHeader`
 * does not see them) and the gRPC status from the trailers, as the response is written. Only
 * references are kept: the three headers an access line needs are looked up when it is written.
 */
function captureHeaders(res: Res): Sent {
  const seen: Sent = { written: false };
  const r = res as ServerResponse;
  const writeHead = r.writeHead as (...a: unknown[]) => ServerResponse;
  r.writeHead = ((...args: unknown[]) => {
    seen.written = true;
    // writeHead(status, [message], [headers]): the first object argument that is not an array.
    for (let i = 1; i < args.length; i++) {
      const a = args[i];
      if (typeof a === "object" && a !== null && !Array.isArray(a)) {
        seen.headers = a as OutgoingHttpHeaders;
        break;
      }
    }
    return writeHead.apply(r, args);
  }) as ServerResponse["writeHead"];
  const addTrailers = r.addTrailers;
  r.addTrailers = (t) => {
    const s = (t as Record<string, unknown>)["grpc-status"];
    if (s !== undefined) seen.grpcStatus = String(s);
    addTrailers.call(r, t);
  };
  return seen;
}
