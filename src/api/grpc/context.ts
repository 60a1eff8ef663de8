import { createContextKey } from "@connectrpc/connect";
import type { Principal } from "../../auth/index.js";

/**
 * The authenticated caller of an RPC, set by the auth interceptor. Until API keys are
 * configured every caller is the development principal of the default tenant.
 */
export const principalKey = createContextKey<Principal>(
  // allTenants: with SOVR_AUTH=off (local experiments) there is no boundary to keep.
  { tenant: "default", workload: "", roles: ["client"], keyId: "", allTenants: true },
  { description: "authenticated principal" },
);

/**
 * Set when the pre-auth check (./pre-auth.ts) already authorised this call from its headers,
 * before its body was read; the auth interceptor then takes its principal instead of asking
 * again.
 */
export const preAuthorizedKey = createContextKey<boolean>(false, {
  description: "authorised before the body was read",
});
