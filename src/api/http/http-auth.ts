import type { IncomingMessage } from "node:http";
import {
  AuthError,
  type Authenticator,
  authorize,
  type CallerAuth,
  type Principal,
  TENANT_HEADER,
} from "../../auth/index.js";
import { toConnectError } from "../grpc/index.js";
import { headerValue, httpAuthorization, peerCertificate } from "../transport/index.js";

/**
 * Authentication of the HTTP API: the same check as the Connect interceptor
 * (src/auth/access.ts), its refusals as ConnectErrors that the HTTP API maps to 401/403. The key
 * comes as `authorization: Bearer` or as `x-api-key` (Anthropic's SDKs), see httpAuthorization.
 * With auth off every caller is the default tenant's client.
 */
export function httpAuthenticate(
  auth: Authenticator | CallerAuth,
  authOn: boolean,
): (req: IncomingMessage, operation: string) => Promise<Principal> {
  return async (req, operation) => {
    if (!authOn) return { tenant: "default", workload: "", roles: ["client"], keyId: "", allTenants: true };
    try {
      const h = req.headers;
      const key = httpAuthorization(h);
      if (key.conflict)
        throw new AuthError("unauthenticated", "authorization and x-api-key name different keys: send one");
      const p = await authorize(
        auth,
        operation,
        key.value,
        headerValue(h, TENANT_HEADER),
        peerCertificate(req),
      );
      return p ?? { tenant: "default", workload: "", roles: [], keyId: "", allTenants: false };
    } catch (err) {
      throw toConnectError(err);
    }
  };
}
