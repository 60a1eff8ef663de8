import type { IncomingMessage } from "node:http";
import { type Authenticator, authorize, type Principal, TENANT_HEADER } from "../../auth/index.js";
import { toConnectError } from "../grpc/index.js";
import { headerValue } from "../transport/index.js";

/**
 * Authentication of the HTTP API: the same check as the Connect interceptor
 * (src/auth/access.ts), its refusals as ConnectErrors that the HTTP API maps to 401/403.
 * With auth off every caller is the default tenant's client.
 */
export function httpAuthenticate(
  auth: Authenticator,
  authOn: boolean,
): (req: IncomingMessage, operation: string) => Promise<Principal> {
  return async (req, operation) => {
    if (!authOn) return { tenant: "default", workload: "", roles: ["client"], keyId: "", allTenants: true };
    try {
      const h = req.headers;
      const p = await authorize(
        auth,
        operation,
        headerValue(h, "authorization"),
        headerValue(h, TENANT_HEADER),
      );
      return p ?? { tenant: "default", workload: "", roles: [], keyId: "", allTenants: false };
    } catch (err) {
      throw toConnectError(err);
    }
  };
}
