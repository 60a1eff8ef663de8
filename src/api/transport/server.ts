import { createServer as createHttpServer, type IncomingMessage, type ServerResponse } from "node:http";
import {
  constants,
  createSecureServer as createHttp2SecureServer,
  createServer as createHttp2Server,
  Http2ServerRequest,
  Http2ServerResponse,
  type Http2Session,
  type IncomingHttpHeaders,
  type SecureServerOptions,
  type ServerHttp2Stream,
} from "node:http2";
import { createServer as createHttpsServer } from "node:https";
import type { AddressInfo, Server as NetServer } from "node:net";
import { patchGrpcMessage } from "../compat/index.js";
import { refuseUnknownProtocol, sniffingFront } from "./grpc-port-http1.js";
import type { H2StreamHandler } from "./grpc-stream.js";
import { guardRapidReset, type H2GuardOptions, h2Settings } from "./h2-guard.js";
import type { SecureContextTarget } from "./tls-reload.js";

export type NodeHandler = (
  req: IncomingMessage | Http2ServerRequest,
  res: ServerResponse | Http2ServerResponse,
) => void;

export interface ListenOptions {
  host: string;
  grpcPort: number;
  httpPort: number;
  /**
   * TLS for the gRPC port (see `loadTlsOptions` in ./tls.ts); with a `ca`, client
   * certificates are required (mTLS). Absent: HTTP/2 cleartext (h2c).
   */
  tls?: SecureServerOptions;
  /** TLS for the HTTP/1.1 port (`loadHttpsOptions` in ./tls-reload.ts); absent: cleartext. */
  httpTls?: SecureServerOptions;
  /** Stream limits of the HTTP/2 port (./h2-guard.ts). */
  http2: H2GuardOptions;
  /**
   * The gRPC port's handler of raw HTTP/2 streams (./grpc-stream.ts): the streams it takes are
   * served there; the others become request/response pairs for `grpcHandler`.
   */
  grpcStream?: H2StreamHandler;
}

/**
 * HTTP/1.1: the request head must arrive within 10 s and the whole request (an 8 MiB body
 * included) within 60 s, or Node answers 408 and closes; checked every second instead of
 * Node's 30 s, so a slow sender holds a connection for little longer than the limit.
 */
const H1_HEADERS_TIMEOUT_MS = 10_000;
const H1_REQUEST_TIMEOUT_MS = 60_000;
const H1_TIMEOUT_CHECK_MS = 1_000;

export interface RunningServers {
  readonly grpcPort: number;
  readonly httpPort: number;
  /** Calls being served right now, on both ports. */
  readonly inflight: number;
  /** The TLS listeners, for certificate renewal (./tls-reload.ts); absent where cleartext. */
  readonly secure: { readonly grpc?: SecureContextTarget; readonly http?: SecureContextTarget };
  /**
   * Graceful stop: refuse new connections and streams (GOAWAY), let in-flight calls finish
   * for up to `drainMs`, then cut what is left. Resolves when both ports are closed.
   */
  close(drainMs: number): Promise<{ drained: boolean; cut: number }>;
}

/**
 * Listens on the HTTP/2 port (gRPC, gRPC-Web, Connect; cleartext, or TLS/mTLS with `tls`) and the HTTP/1.1 port
 * (OpenAI-compatible API, Connect JSON, health and metrics), counting in-flight calls so a
 * drain knows when it is done.
 */
export async function listen(
  grpcHandler: NodeHandler,
  httpHandler: NodeHandler,
  opts: ListenOptions,
): Promise<RunningServers> {
  let inflight = 0;
  let idle: (() => void) | undefined;
  const track =
    (handler: NodeHandler): NodeHandler =>
    (req, res) => {
      inflight++;
      let done = false;
      const finish = () => {
        if (done) return;
        done = true;
        inflight--;
        if (inflight === 0) idle?.();
      };
      res.once("close", finish);
      res.once("finish", finish);
      handler(req, res);
    };

  const grpc: NodeHandler = (req, res) => {
    patchGrpcMessage(res as Http2ServerResponse);
    grpcHandler(req, res);
  };
  const onRequest = track(grpc) as (req: Http2ServerRequest, res: Http2ServerResponse) => void;
  const direct = opts.grpcStream;
  // What Node's compatibility layer does for every stream (lib/internal/http2/compat.js
  // onServerStream), done here only for the streams `direct` does not take.
  const onStream = (
    stream: ServerHttp2Stream,
    headers: IncomingHttpHeaders,
    _flags: number,
    rawHeaders: string[],
  ) => {
    if (direct) {
      inflight++;
      let taken = false;
      try {
        taken = direct(stream, headers);
      } finally {
        // 'close' comes once: `on`, not `once` (which wraps the listener and removes it again).
        if (taken) stream.on("close", done);
        else done();
      }
      if (taken) return;
    }
    const req = new Http2ServerRequest(stream, headers, {}, rawHeaders);
    const res = new Http2ServerResponse(stream);
    if (headers[":method"] === "CONNECT") {
      res.statusCode = constants.HTTP_STATUS_METHOD_NOT_ALLOWED;
      res.end();
      return;
    }
    if (headers.expect !== undefined) {
      if (headers.expect !== "100-continue") {
        res.statusCode = constants.HTTP_STATUS_EXPECTATION_FAILED;
        res.end();
        return;
      }
      res.writeContinue();
    }
    onRequest(req, res);
  };
  const done = () => {
    inflight--;
    if (inflight === 0) idle?.();
  };
  const settings = h2Settings(opts.http2);
  // An HTTP/1.1 client on this port gets a 426 naming the HTTP port (./grpc-port-http1.ts).
  let httpPort = 0;
  let front: NetServer;
  let h2: ReturnType<typeof createHttp2Server> | ReturnType<typeof createHttp2SecureServer>;
  if (opts.tls) {
    const secure = createHttp2SecureServer({ ...opts.tls, settings });
    refuseUnknownProtocol(secure, () => httpPort);
    h2 = front = secure;
  } else {
    const clear = createHttp2Server({ settings });
    front = sniffingFront(clear, () => httpPort);
    h2 = clear;
  }
  h2.on("stream", onStream);
  guardRapidReset(h2, opts.http2);
  // A failed handshake (plaintext on a TLS port, no or foreign client certificate) only ends
  // that connection; the listener keeps serving.
  h2.on("tlsClientError", () => {});
  const sessions = new Set<Http2Session>();
  h2.on("session", (s) => {
    sessions.add(s);
    s.on("close", () => sessions.delete(s));
    // A peer vanishing must not take the process down.
    s.on("error", () => {});
  });
  const h1Options = {
    keepAlive: true,
    headersTimeout: H1_HEADERS_TIMEOUT_MS,
    requestTimeout: H1_REQUEST_TIMEOUT_MS,
    connectionsCheckingInterval: H1_TIMEOUT_CHECK_MS,
  };
  const h1Handler = track(httpHandler) as (req: IncomingMessage, res: ServerResponse) => void;
  const https = opts.httpTls ? createHttpsServer({ ...opts.httpTls, ...h1Options }, h1Handler) : undefined;
  // As on the gRPC port, a failed handshake only ends that connection.
  https?.on("tlsClientError", () => {});
  const h1 = https ?? createHttpServer(h1Options, h1Handler);
  h1.keepAliveTimeout = 65_000;

  const bind = (server: NetServer, port: number) =>
    new Promise<number>((resolve, reject) => {
      server.once("error", reject);
      server.listen(port, opts.host, () => {
        server.off("error", reject);
        resolve((server.address() as AddressInfo).port);
      });
    });
  const grpcPort = await bind(front, opts.grpcPort);
  try {
    httpPort = await bind(h1, opts.httpPort);
  } catch (err) {
    front.close();
    throw err;
  }

  return {
    grpcPort,
    httpPort,
    get inflight() {
      return inflight;
    },
    secure: {
      ...(opts.tls ? { grpc: h2 as unknown as SecureContextTarget } : {}),
      ...(https ? { http: https } : {}),
    },
    async close(drainMs) {
      const closed = Promise.all([
        new Promise<void>((r) => front.close(() => r())),
        new Promise<void>((r) => h1.close(() => r())),
      ]);
      for (const s of sessions) s.close(); // GOAWAY: no new streams, in-flight ones continue
      h1.closeIdleConnections();
      let drained = inflight === 0;
      if (!drained) {
        drained = await new Promise<boolean>((resolve) => {
          const t = setTimeout(() => resolve(false), drainMs);
          idle = () => {
            clearTimeout(t);
            resolve(true);
          };
        });
      }
      const cut = inflight;
      for (const s of sessions) s.destroy();
      h1.closeAllConnections();
      await closed;
      return { drained, cut };
    },
  };
}
