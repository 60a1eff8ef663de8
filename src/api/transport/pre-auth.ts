import type { IncomingHttpHeaders } from "node:http";
import type { ServerHttp2Stream } from "node:http2";
import { Code, type ContextValues, createContextValues } from "@connectrpc/connect";
import type { Principal } from "../../auth/index.js";
import { ACCESS } from "../../auth/index.js";
import type { InternalErrorLog } from "../grpc/index.js";
import { preAuthorizedKey, principalKey, toConnectError } from "../grpc/index.js";
import { refuseRpc } from "./rpc-refusal.js";
import type { NodeHandler } from "./server.js";

/**
 * The caller of `operation` from the request headers alone: a principal, undefined for a public
 * operation, or a thrown AuthError. In the app this is `authorize()` of src/auth/access.ts, the
 * one check both APIs use.
 */
export type HeaderAuthorizer = (
  operation: string,
  headers: IncomingHttpHeaders,
  /**
   * The request itself, for what its connection says (the client certificate) and as the key
   * of its access line's note; its body is not read.
   */
  req: Parameters<NodeHandler>[0] | { readonly stream: ServerHttp2Stream },
) => Promise<Principal | undefined>;

/**
 * Authentication before the body, for every Connect, gRPC and gRPC-Web call on both ports.
 *
 * connect-es reads a call's whole request message (up to `readMaxBytes`, 8 MiB) before any
 * interceptor runs, so a caller without a key could make the server buffer 8 MiB per request
 * and only then hear "unauthenticated". {@link wrap} puts the same check in front of connect's
 * Node handler: the operation comes from the path, the key from the headers; a refused call is
 * answered in its own protocol without a byte of its body read (./rpc-refusal.ts closes the
 * HTTP/1.1 connection or resets the HTTP/2 stream). While the check runs the body stays unread,
 * held back by TCP and HTTP/2 flow control.
 *
 * The principal found here reaches the auth interceptor through connect's per-request context
 * values ({@link contextValues}), so the interceptor neither asks again nor applies rules of its
 * own; it still checks calls that did not come through here (in-process transports).
 */
export class PreAuth {
  /** Requests checked here → their principal (undefined: a public operation). */
  readonly #checked = new WeakMap<object, Principal | undefined>();

  constructor(
    private readonly authorize: HeaderAuthorizer,
    private readonly onInternal?: InternalErrorLog,
  ) {}

  wrap(handler: NodeHandler): NodeHandler {
    return (req, res) => {
      const operation = rpcOperation(req.url);
      // Not an RPC of ours: connect answers 404 without reading the body.
      if (operation === undefined) return handler(req, res);
      void this.authorize(operation, req.headers, req).then(
        (principal) => {
          // The caller gave up (or its stream was reset) while the key was checked: no work.
          if (gone(req)) return;
          this.#checked.set(req, principal);
          handler(req, res);
        },
        (err: unknown) => {
          const error = toConnectError(err);
          if (error.code === Code.Internal) this.onInternal?.(error, operation);
          if (!gone(req)) refuseRpc(req, res, error);
        },
      );
    };
  }

  /**
   * The same check for a gRPC call served on its HTTP/2 stream (./grpc-stream.ts), keyed by
   * `call` ({@link contextValues} then has its principal), or rejects with the refusal (a
   * ConnectError). An operation that is not one of ours is left to the auth interceptor.
   */
  async admit(
    call: { readonly stream: ServerHttp2Stream },
    operation: string,
    headers: IncomingHttpHeaders,
  ): Promise<void> {
    if (!Object.hasOwn(ACCESS, operation)) return;
    let principal: Principal | undefined;
    try {
      principal = await this.authorize(operation, headers, call);
    } catch (err) {
      throw toConnectError(err);
    }
    this.#checked.set(call, principal);
  }

  /** For connectNodeAdapter's `contextValues`: what the check found for this request. */
  readonly contextValues = (req: object): ContextValues => {
    const values = createContextValues();
    if (!this.#checked.has(req)) return values;
    values.set(preAuthorizedKey, true);
    const principal = this.#checked.get(req);
    if (principal) values.set(principalKey, principal);
    return values;
  };
}

function gone(req: Parameters<NodeHandler>[0]): boolean {
  return "stream" in req ? req.stream.destroyed : req.socket.destroyed;
}

/** `/sovereign.v1.RouterService/Chat?…` → `sovereign.v1.RouterService/Chat`, when it is one of ours. */
function rpcOperation(url: string | undefined): string | undefined {
  const path = (url ?? "").split("?", 1)[0]!;
  const operation = path.slice(1);
  return path.startsWith("/") && Object.hasOwn(ACCESS, operation) ? operation : undefined;
}

/** The first value of a request header (HTTP/1.1 may repeat one), for {@link HeaderAuthorizer}s. */
export function headerValue(headers: IncomingHttpHeaders, name: string): string | undefined {
  const v = headers[name];
  return Array.isArray(v) ? v[0] : v;
}

/**
 * The key of an HTTP API call as an `authorization` value: that header, else `Bearer
 * <x-api-key>` (Anthropic's SDKs send the key as `x-api-key`). When both are present and name
 * different keys, `conflict` is set: the call is refused rather than one of them guessed.
 */
export function httpAuthorization(headers: IncomingHttpHeaders): { value?: string; conflict: boolean } {
  const authorization = headerValue(headers, "authorization");
  const apiKey = headerValue(headers, "x-api-key");
  if (apiKey === undefined) return { value: authorization, conflict: false };
  const fromApiKey = `Bearer ${apiKey}`;
  if (authorization === undefined) return { value: fromApiKey, conflict: false };
  return { value: authorization, conflict: authorization.trim() !== fromApiKey.trim() };
}
