import { createContextKey } from "@connectrpc/connect";
import type { Principal } from "../routing/types.js";

/**
 * The authenticated caller of an RPC, set by the auth interceptor. Until API keys are
 * configured every caller is the development principal of the default tenant.
 */
export const principalKey = createContextKey<Principal>(
  { tenant: "default", workload: "", roles: ["client"], keyId: "", allTenants: false },
  { description: "authenticated principal" },
);
