import {
  connectHandler,
  createAnthropicHttpHandler,
  createOpenAIHttpHandler,
  type HealthState,
  HttpRateLimit,
  httpAuthenticate,
  httpHandler,
  internalErrorLog,
  listen,
  loadTlsOptions,
  RateLimiter,
  type RunningServers,
  registerServices,
  serviceHealth,
} from "../api/index.js";
import type { AdminTrail, AuditLog, Checkpointer } from "../audit/index.js";
import type { Authenticator, ByokAdmin } from "../auth/index.js";
import type { EndpointStatsTracker, LiveCatalog } from "../catalog/index.js";
import type { Config } from "../config/index.js";
import { type DatabaseHandle, pingDatabase } from "../db/index.js";
import { Replayer } from "../replay/index.js";
import type { LocalProber, Router } from "../routing/index.js";
import type { Logger, Metrics } from "../telemetry/index.js";
import type { RunningPolicy } from "./policy.js";

export interface ServeParts {
  config: Config;
  db: DatabaseHandle;
  auth: Authenticator;
  catalog: LiveCatalog;
  stats: EndpointStatsTracker;
  /** Probed local runtimes, reported by the CatalogService. */
  prober: LocalProber;
  policy: RunningPolicy;
  audit: AuditLog;
  /** Where admin changes are recorded before they take effect. */
  trail: AdminTrail;
  checkpointer: Checkpointer;
  router: Router;
  byokAdmin: ByokAdmin;
  logger: Logger;
  metrics: Metrics;
}

export interface Serving {
  servers: RunningServers;
  health: HealthState;
  /** Aborted when stop() begins: long-lived streams (WatchCatalog) end instead of being cut. */
  shutdown: AbortController;
}

/** The APIs on both ports: Connect/gRPC services, the OpenAI-compatible API, health and metrics. */
export async function serve(p: ServeParts): Promise<Serving> {
  const {
    config,
    db,
    auth,
    catalog,
    stats,
    prober,
    policy,
    audit,
    trail,
    checkpointer,
    router,
    byokAdmin,
    logger,
    metrics,
  } = p;
  const health = serviceHealth();
  const shutdown = new AbortController();
  const limiter = new RateLimiter(config.limits);
  const authOn = config.auth === "on";
  const reportInternal = internalErrorLog(logger);
  const connect = connectHandler({
    auth: authOn ? auth : undefined,
    maxRequestBytes: config.requestLimits.requestBytes,
    limiter,
    reportInternal,
    routes: (r) =>
      registerServices(r, {
        keys: [db.db, auth, trail],
        byok: byokAdmin,
        router,
        limits: config.requestLimits,
        catalog: {
          catalog,
          stats,
          prober,
          db: db.db,
          shutdown: shutdown.signal,
          onApply: (result) => metrics.catalogRevisions.inc({ result }),
        },
        audit: {
          db: db.db,
          checkpointer,
          replayer: new Replayer({ db: db.db, catalog, livePolicy: policy.engine }),
          logger,
        },
        health,
      }),
  });
  const httpLimit = new HttpRateLimit(limiter, { authOn });
  const authenticate = httpLimit.after(httpAuthenticate(auth, authOn));
  const openai = createOpenAIHttpHandler({
    router,
    catalog,
    byok: byokAdmin,
    onInternalError: reportInternal,
    limits: config.requestLimits,
    authenticate,
  });
  const anthropic = createAnthropicHttpHandler({
    router,
    onInternalError: reportInternal,
    authenticate,
    limits: config.requestLimits,
  });
  const http = httpHandler({
    httpLimit,
    metrics,
    openai,
    anthropic,
    connect,
    maxRequestBytes: config.requestLimits.requestBytes,
    readiness: {
      pingDatabase: () => pingDatabase(db.db, config.storageTimeoutMs),
      storage: db.storage,
      policyRevision: () => policy.activeBundle()?.revision,
      catalogRevision: () => (catalog.loaded ? catalog.current().revision : undefined),
      serving: () => health.serving,
      auditFault: () => checkpointer.fault,
      auditCommit: { stalledMs: () => audit.commitStalledMs(), boundMs: config.storageTimeoutMs },
    },
  });

  const servers = await listen(connect, http, {
    host: config.host,
    grpcPort: config.grpcPort,
    httpPort: config.httpPort,
    tls: config.tls ? await loadTlsOptions(config.tls) : undefined,
    http2: {
      ...config.http2,
      onRapidReset: (remote) =>
        logger.warn({ remote }, "HTTP/2 connection closed: streams reset too fast (ENHANCE_YOUR_CALM)"),
    },
  });
  metrics.countInflight(() => servers.inflight);
  health.set(true);
  logger.info({ grpcPort: servers.grpcPort, httpPort: servers.httpPort, host: config.host }, "sovr serving");

  return { servers, health, shutdown };
}
