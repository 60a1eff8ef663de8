import { Code, ConnectError, type Interceptor } from "@connectrpc/connect";
import { AuthError, authorize, TENANT_HEADER } from "../auth/access.js";
import type { Authenticator } from "../auth/api-keys.js";
import { principalKey } from "./context.js";

/** Authentication and authorisation for every gRPC/Connect call, before any handler runs. */
export function authInterceptor(auth: Authenticator): Interceptor {
  return (next) => async (req) => {
    let principal: Awaited<ReturnType<typeof authorize>>;
    try {
      principal = await authorize(
        auth,
        `${req.service.typeName}/${req.method.name}`,
        req.header.get("authorization"),
        req.header.get(TENANT_HEADER),
      );
    } catch (err) {
      if (err instanceof AuthError) {
        throw new ConnectError(
          err.message,
          err.failure === "unauthenticated" ? Code.Unauthenticated : Code.PermissionDenied,
        );
      }
      // The key store is unreachable: refuse, but say it is transient.
      throw new ConnectError(
        "cannot check the API key right now",
        Code.Unavailable,
        undefined,
        undefined,
        err,
      );
    }
    if (principal) req.contextValues.set(principalKey, principal);
    return next(req);
  };
}
