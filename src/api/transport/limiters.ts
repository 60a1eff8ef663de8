import type { RateLimitSettings } from "../../config/index.js";
import type { DatabaseHandle } from "../../db/index.js";
import type { TokenGate } from "../../routing/index.js";
import { ClusterRateLimiter, ClusterTokenLimiter } from "./cluster-limit.js";
import { RateLimiter, type RequestLimiter } from "./rate-limit.js";
import { TokenLimiter } from "./token-limit.js";

/**
 * Shared counts only where there can be other replicas: on Postgres. Embedded PGlite admits one
 * process, so there cluster scope IS replica scope, and the in-memory buckets serve it exactly.
 */
const shared = (settings: RateLimitSettings, db: DatabaseHandle) =>
  settings.scope === "cluster" && db.kind === "postgres";

/**
 * The request limiter of the configured scope: per replica (token buckets in memory), or
 * cluster-wide (windows leased from the database; concurrency still per replica).
 */
export function requestLimiter(settings: RateLimitSettings, db: DatabaseHandle): RequestLimiter {
  const cluster = shared(settings, db) && (settings.keyRps > 0 || settings.tenantRps > 0);
  return cluster ? new ClusterRateLimiter(settings, db.db) : new RateLimiter(settings);
}

/** The token limiter of the configured scope; undefined when no token limit is set. */
export function tokenLimiter(settings: RateLimitSettings, db: DatabaseHandle): TokenGate | undefined {
  const gate = shared(settings, db) ? new ClusterTokenLimiter(settings, db.db) : new TokenLimiter(settings);
  return gate.enabled ? gate : undefined;
}
