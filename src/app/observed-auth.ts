import type { Principal } from "../auth/index.js";
import { failSpan, requestNote, type Tracing } from "../telemetry/index.js";

/**
 * Authentication as the access line and the trace see it: the caller's tenant and key id go
 * into the request's note (telemetry/access-log.ts), and with tracing on the check is the
 * `sovr.auth` span (its refusal as the error class, never the key or the message).
 */
export function observedAuth(tracing: Tracing) {
  return async <P extends Principal | undefined>(req: object, check: () => Promise<P>): Promise<P> => {
    const span = tracing.enabled ? tracing.child("sovr.auth") : undefined;
    try {
      const principal = await check();
      const note = requestNote(req);
      if (note && principal) {
        note.tenant = principal.tenant;
        if (principal.keyId) note.keyId = principal.keyId;
      }
      if (span && principal) span.setAttribute("sovr.tenant", principal.tenant);
      return principal;
    } catch (err) {
      if (span) failSpan(span, authClass(err));
      throw err;
    } finally {
      span?.end();
    }
  };
}

function authClass(err: unknown): string {
  const e = err as { code?: unknown; failure?: unknown; name?: unknown };
  if (typeof e.failure === "string") return e.failure;
  if (typeof e.code === "number" || typeof e.code === "string") return `auth_${String(e.code)}`;
  return typeof e.name === "string" ? e.name : "error";
}
