import type { IncomingMessage, ServerResponse } from "node:http";
import { LIMITS } from "../../config/index.js";
import type { Metrics } from "../../telemetry/index.js";
import type { Admission, HttpRateLimit, NodeHandler } from "../transport/index.js";
import type { ReadinessChecks } from "./readiness.js";
import { readiness } from "./readiness.js";

export interface HttpRoutes {
  httpLimit: HttpRateLimit;
  readiness: ReadinessChecks;
  metrics: Metrics;
  /** The OpenAI-compatible API: true when it answered the request. */
  openai(req: IncomingMessage, res: ServerResponse): boolean;
  /** The Anthropic Messages API (`POST /v1/messages`): true when it answered the request. */
  anthropic?(req: IncomingMessage, res: ServerResponse): boolean;
  /** Largest Connect request body (SOVR_MAX_REQUEST_BYTES); LIMITS.requestBytes when absent. */
  maxRequestBytes?: number;
  /** The web console's static files (`/console/`, docs/console.md): true when it answered. */
  console?(req: IncomingMessage, res: ServerResponse): boolean;
  /** The bound on routed calls in flight (SOVR_MAX_IN_FLIGHT): checked before the APIs' routes. */
  admission?: Admission;
  /** Connect (gRPC-web, Connect JSON) on the HTTP/1.1 port. */
  connect: NodeHandler;
}

/**
 * The HTTP/1.1 port: /healthz, /readyz, /metrics, the web console, the OpenAI-compatible API,
 * the Anthropic Messages API, then Connect.
 */
export function httpHandler(r: HttpRoutes): NodeHandler {
  return (request, response) => {
    const req = request as IncomingMessage;
    const res = response as ServerResponse;
    r.httpLimit.track(req, res);
    const url = req.url ?? "/";
    if (url === "/healthz") return void text(res, 200, "ok\n");
    if (url === "/readyz") {
      void readiness(r.readiness).then(({ ready, checks }) =>
        text(res, ready ? 200 : 503, `${JSON.stringify({ ready, checks })}\n`, "application/json"),
      );
      return;
    }
    if (url === "/metrics") {
      void r.metrics.exposition().then(
        (body) => text(res, 200, body, r.metrics.registry.contentType),
        () => text(res, 503, "metrics unavailable\n", "text/plain; charset=utf-8"),
      );
      return;
    }
    if (r.console?.(req, res)) return;
    if (r.admission?.refuseHttp(req, res)) return;
    if (r.openai(req, res) || r.anthropic?.(req, res)) return;
    const max = r.maxRequestBytes ?? LIMITS.requestBytes;
    if (Number(req.headers["content-length"]) > max) return void connectTooLarge(res, max);
    r.connect(req, res);
  };
}

/**
 * A Connect call on the HTTP/1.1 port whose declared body exceeds the request limit: 413 with a
 * Connect error body, answered before reading it (a chunked body meets connect's readMaxBytes).
 */
function connectTooLarge(res: ServerResponse, max: number): void {
  const body = JSON.stringify({
    code: "resource_exhausted",
    message: `request body larger than ${max} bytes`,
  });
  res.writeHead(413, {
    "content-type": "application/json",
    "content-length": Buffer.byteLength(body),
    connection: "close",
  });
  res.end(body);
}

function text(res: ServerResponse, status: number, body: string, type = "text/plain; charset=utf-8"): void {
  res.writeHead(status, { "content-type": type, "content-length": Buffer.byteLength(body) });
  res.end(body);
}
