import { type ConnectRouter, createContextValues } from "@connectrpc/connect";
import { connectNodeAdapter } from "@connectrpc/connect-node";
import {
  type Authenticator,
  authorize,
  type CallerAuth,
  type Principal,
  TENANT_HEADER,
} from "../../auth/index.js";
import { LIMITS } from "../../config/index.js";
import { requestNote } from "../../telemetry/index.js";
import {
  authInterceptor,
  type InternalErrorLog,
  internalErrorInterceptor,
  requestNoteKey,
} from "../grpc/index.js";
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
}

/**
 * Connect/gRPC on both ports: internal errors logged once, then auth, then rate limits (they
 * count the authenticated caller). With auth on, RPCs are authorised from their headers before
 * connect reads their body.
 */
export function connectHandler(o: ConnectHandlerOptions): NodeHandler {
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
  const handler = connectNodeAdapter({
    interceptors: [
      internalErrorInterceptor(o.reportInternal),
      ...(auth ? [authInterceptor(auth)] : []),
      rateLimitInterceptor(o.limiter, { authOn: auth !== undefined }),
    ],
    // The pre-auth check's principal, and the access line's note for the model.
    contextValues: (req: object) => {
      const values = preAuth ? preAuth.contextValues(req) : createContextValues();
      const note = requestNote(req);
      if (note) values.set(requestNoteKey, note);
      return values;
    },
    // Connect's default is 4 GiB; a message larger than the request limit is refused unread
    // (ResourceExhausted, as every gRPC implementation answers an oversized message).
    readMaxBytes: o.maxRequestBytes ?? LIMITS.requestBytes,
    // Unknown fields of a request are dropped, not kept: nothing reads them.
    binaryOptions: { readUnknownFields: false },
    routes: o.routes,
  }) as NodeHandler;
  return preAuth ? preAuth.wrap(handler) : handler;
}
