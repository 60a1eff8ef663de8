import type { Interceptor } from "@connectrpc/connect";
import type { Authenticator, CallerAuth } from "../../auth/index.js";
import { authorize, TENANT_HEADER } from "../../auth/index.js";
import { preAuthorizedKey, principalKey } from "./context.js";
import { toConnectError } from "./errors.js";

/**
 * Authentication and authorisation for every gRPC/Connect call, before any handler runs. Calls
 * that came through the pre-auth check (./pre-auth.ts, on both ports) were authorised from their
 * headers before their body was read; their principal is already in the context.
 */
export function authInterceptor(auth: Authenticator | CallerAuth): Interceptor {
  // Not an async function: a call already authorised passes straight on (no promise of its own).
  return (next) => (req) => {
    if (req.contextValues.get(preAuthorizedKey)) return next(req);
    return authorized(auth, next, req);
  };
}

async function authorized(
  auth: Authenticator | CallerAuth,
  next: Parameters<Interceptor>[0],
  req: Parameters<Parameters<Interceptor>[0]>[0],
): ReturnType<Parameters<Interceptor>[0]> {
  let principal: Awaited<ReturnType<typeof authorize>>;
  try {
    principal = await authorize(
      auth,
      `${req.service.typeName}/${req.method.name}`,
      req.header.get("authorization"),
      req.header.get(TENANT_HEADER),
    );
  } catch (err) {
    throw toConnectError(err);
  }
  if (principal) req.contextValues.set(principalKey, principal);
  return next(req);
}
