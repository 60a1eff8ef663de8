import type { Kysely } from "kysely";
import type { RateLimitSettings } from "../../config/index.js";
import type { Database } from "../../db/index.js";
import type { TokenGate } from "../../routing/index.js";
import { ClusterRateLimiter, ClusterTokenLimiter } from "./cluster-limit.js";
import { RateLimiter, type RequestLimiter } from "./rate-limit.js";
import { TokenLimiter } from "./token-limit.js";

/**
 * The request limiter of the configured scope: per replica (token buckets in memory), or
 * cluster-wide (windows leased from the database; concurrency still per replica).
 */
export function requestLimiter(settings: RateLimitSettings, db: Kysely<Database>): RequestLimiter {
  const cluster = settings.scope === "cluster" && (settings.keyRps > 0 || settings.tenantRps > 0);
  return cluster ? new ClusterRateLimiter(settings, db) : new RateLimiter(settings);
}

/** The token limiter of the configured scope; undefined when no token limit is set. */
export function tokenLimiter(settings: RateLimitSettings, db: Kysely<Database>): TokenGate | undefined {
  const gate =
    settings.scope === "cluster" ? new ClusterTokenLimiter(settings, db) : new TokenLimiter(settings);
  return gate.enabled ? gate : undefined;
}
