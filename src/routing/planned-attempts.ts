import type { TenantKey } from "../auth/index.js";
import { endpointOrigin } from "../auth/index.js";
import type { ResolvedEndpoint } from "../catalog/index.js";

/** One upstream attempt: an endpoint with one credential. */
export interface PlannedAttempt {
  endpoint: ResolvedEndpoint;
  /** The tenant's own key, or the catalog's shared one (`api_key_env`, or none needed). */
  credential: "byok" | "shared";
  apiKey: string | undefined;
}

/**
 * Each endpoint of the plan with its credentials in order (OpenRouter's BYOK): the tenant's own
 * key first, then — unless the tenant said "always use my key" — the shared key, looked up by
 * name in `env` (never copied elsewhere).
 */
export function plannedAttempts(
  plan: readonly ResolvedEndpoint[],
  keys: ReadonlyMap<string, TenantKey>,
  env: Readonly<Record<string, string | undefined>>,
): PlannedAttempt[] {
  return plan.flatMap((endpoint) => {
    const own = keys.get(endpoint.provider);
    const out: PlannedAttempt[] = [];
    // Never past the plan's own check (filters.ts, byok_origin): a key goes only where approved.
    if (own?.apiKey !== undefined && !own.origins.has(endpointOrigin(endpoint))) return out;
    if (own?.apiKey !== undefined) out.push({ endpoint, credential: "byok", apiKey: own.apiKey });
    if (!own?.always && endpoint.available) {
      const shared = endpoint.apiKeyEnv ? env[endpoint.apiKeyEnv] : undefined;
      out.push({ endpoint, credential: "shared", apiKey: shared });
    }
    return out;
  });
}
