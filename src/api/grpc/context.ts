import { type ContextKey, createContextKey } from "@connectrpc/connect";
import type { Principal } from "../../auth/index.js";
import type { RequestNote } from "../../telemetry/index.js";

/**
 * The authenticated caller of an RPC, set by the auth interceptor. Until API keys are
 * configured every caller is the development principal of the default tenant.
 */
export const principalKey = createContextKey<Principal>(
  // allTenants: with SOVR_AUTH=off (local experiments) there is no boundary to keep.
  { tenant: "default", workload: "", roles: ["client"], keyId: "", allTenants: true },
  { description: "authenticated principal" },
);

/** The request's access-line note (telemetry/access-log.ts), where the server has one. */
export const requestNoteKey = createContextKey<RequestNote | undefined>(undefined, {
  description: "the access line's note of this request",
});

/**
 * Set when the pre-auth check (./pre-auth.ts) already authorised this call from its headers,
 * before its body was read; the auth interceptor then takes its principal instead of asking
 * again.
 */
export const preAuthorizedKey = createContextKey<boolean>(false, {
  description: "authorised before the body was read",
});

/** The requested model, for the access line of this RPC. */
export function noteModel(ctx: { values: { get<T>(key: ContextKey<T>): T } }, model: string): void {
  const note = ctx.values.get(requestNoteKey);
  if (note) note.model = model;
}
