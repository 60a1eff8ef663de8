import { type ConnectRouter, createContextValues } from "@connectrpc/connect";
import { compressionBrotli, compressionGzip, connectNodeAdapter } from "@connectrpc/connect-node";
import {
  type Authenticator,
  authorize,
  type CallerAuth,
  type Principal,
  TENANT_HEADER,
} from "../../auth/index.js";
import { LIMITS } from "../../config/index.js";
import { type AccessRecorder, requestNote } from "../../telemetry/index.js";
import {
  authInterceptor,
  type InternalErrorLog,
  internalErrorInterceptor,
  requestNoteKey,
} from "../grpc/index.js";
import type { Admission } from "./admission.js";
import { GrpcMethods, grpcStreamHandler, type H2StreamHandler } from "./grpc-stream.js";
import { peerCertificate } from "./peer-certificate.js";
import { headerValue, PreAuth } from "./pre-auth.js";
import { type RequestLimiter, rateLimitInterceptor } from "./rate-limit.js";
import type { NodeHandler } from "./server.js";

export interface ConnectHandlerOptions {
  /** The authenticator (API keys, or every credential kind) when auth is on; undefined when off. */
  auth: Authenticator | CallerAuth | undefined;
  limiter: RequestLimiter;
  reportInternal: InternalErrorLog;
  routes: (r: ConnectRouter) => void;
  /** Sees each header check (the access line's caller, the auth span); absent: the check alone. */
  observeAuth?: <P extends Principal | undefined>(req: object, check: () => Promise<P>) => Promise<P>;
  /** Largest request message (SOVR_MAX_REQUEST_BYTES); LIMITS.requestBytes when absent. */
  maxRequestBytes?: number;
  /** The bound on routed calls in flight (SOVR_MAX_IN_FLIGHT, ./admission.ts), checked first. */
  admission?: Admission;
}

/**
 * Connect/gRPC on both ports: internal errors logged once, then auth, then rate limits (they
 * count the authenticated caller). With auth on, RPCs are authorised from their headers before
 * connect reads their body.
 */
export function connectHandler(o: ConnectHandlerOptions): NodeHandler {
  return rpcHandlers(o).node;
}

/**
 * The same services twice over: `node`, connect-es's handler for Node's request/response pairs
 * (both ports, every protocol), and `grpc`, the gRPC port's handler of raw HTTP/2 streams for
 * the gRPC calls it takes (./grpc-stream.ts; the rest it leaves to `node`). Both run the same
 * interceptors, pre-auth check and context values. `access` writes the stream path's access
 * lines (the `node` handler gets its own from accessLogged).
 */
export function rpcHandlers(o: ConnectHandlerOptions & { access?: AccessRecorder }): {
  node: NodeHandler;
  grpc: H2StreamHandler;
} {
  const auth = o.auth;
  const preAuth = auth
    ? new PreAuth((operation, h, req) => {
        const check = () =>
          authorize(
            auth,
            operation,
            headerValue(h, "authorization"),
            headerValue(h, TENANT_HEADER),
            peerCertificate(req),
          );
        return o.observeAuth ? o.observeAuth(req, check) : check();
      }, o.reportInternal)
    : undefined;
  const interceptors = [
    internalErrorInterceptor(o.reportInternal),
    ...(auth ? [authInterceptor(auth)] : []),
    rateLimitInterceptor(o.limiter, { authOn: auth !== undefined }),
  ];
  const readMaxBytes = o.maxRequestBytes ?? LIMITS.requestBytes;
  // The pre-auth check's principal, and the access line's note for the model.
  const contextValues = (req: object) => {
    const values = preAuth ? preAuth.contextValues(req) : createContextValues();
    const note = requestNote(req);
    if (note) values.set(requestNoteKey, note);
    return values;
  };
  const methods = new GrpcMethods();
  const handler = connectNodeAdapter({
    interceptors,
    contextValues,
    // Connect's default is 4 GiB; a message larger than the request limit is refused unread
    // (ResourceExhausted, as every gRPC implementation answers an oversized message).
    readMaxBytes,
    // Unknown fields of a request are dropped, not kept: nothing reads them.
    binaryOptions: { readUnknownFields: false },
    routes: (r) => o.routes(recording(r, methods)),
  }) as NodeHandler;
  const grpc = grpcStreamHandler(methods, {
    interceptors,
    readMaxBytes,
    acceptCompression: [compressionGzip, compressionBrotli],
    access: o.access,
    onInternal: o.reportInternal,
    gate: {
      admit: async (call, operation, headers) => {
        o.admission?.admitStream(call.stream, operation);
        if (preAuth) await preAuth.admit(call, operation, headers);
        return contextValues(call);
      },
    },
  });
  const node = preAuth ? preAuth.wrap(handler) : handler;
  return { node: o.admission ? o.admission.wrap(node) : node, grpc };
}

/** `r`, also telling `methods` of every service implementation registered on it. */
function recording(r: ConnectRouter, methods: GrpcMethods): ConnectRouter {
  return {
    get handlers() {
      return r.handlers;
    },
    service(service, impl, options) {
      r.service(service, impl, options);
      methods.add(service, impl as Record<string, unknown>);
      return this;
    },
    rpc(method, impl, options) {
      r.rpc(method, impl, options);
      return this;
    },
  } as ConnectRouter;
}
