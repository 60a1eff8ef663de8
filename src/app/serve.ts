import type { IncomingMessage } from "node:http";
import {
  Admission,
  consoleHandler,
  createAnthropicHttpHandler,
  createOpenAIHttpHandler,
  type HealthState,
  HttpRateLimit,
  httpAuthenticate,
  httpHandler,
  internalErrorLog,
  listen,
  loadHttpsOptions,
  loadTlsOptions,
  type RunningServers,
  registerServices,
  requestLimiter,
  rpcHandlers,
  serviceHealth,
  TlsReloader,
  type TlsReloadTarget,
} from "../api/index.js";
import { type AdminTrail, type AuditLog, type Checkpointer, CommitSignal } from "../audit/index.js";
import { type Authenticator, type ByokAdmin, CallerAuth, JwtVerifier } from "../auth/index.js";
import { BudgetAdmin, type BudgetStore } from "../budget/index.js";
import type { EndpointStatsTracker, LiveCatalog } from "../catalog/index.js";
import type { Config } from "../config/index.js";
import { type DatabaseHandle, pingDatabase } from "../db/index.js";
import { Replayer } from "../replay/index.js";
import type { LocalProber, Router } from "../routing/index.js";
import { accessLogged, accessRecorder, type Logger, type Metrics, type Tracing } from "../telemetry/index.js";
import { budgetTrail } from "./budget-trail.js";
import { observedAuth } from "./observed-auth.js";
import type { RunningPolicy } from "./policy.js";
import { auditFault } from "./router.js";

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
  /** One per log shard (`checkpointer` is shard 0's). */
  checkpointers: readonly Checkpointer[];
  router: Router;
  byokAdmin: ByokAdmin;
  budgets: BudgetStore;
  logger: Logger;
  metrics: Metrics;
  tracing: Tracing;
}

export interface Serving {
  servers: RunningServers;
  health: HealthState;
  /** Aborted when stop() begins: long-lived streams (WatchCatalog) end instead of being cut. */
  shutdown: AbortController;
  /** Renews the certificates of the TLS ports from their files; undefined without TLS. */
  tlsReload: TlsReloader | undefined;
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
    checkpointers,
    router,
    byokAdmin,
    logger,
    metrics,
    tracing,
  } = p;
  const health = serviceHealth();
  const shutdown = new AbortController();
  const limiter = requestLimiter(config.limits, db);
  // SOVR_MAX_IN_FLIGHT: refused calls counted, and logged at most once a second (no content).
  const admission = new Admission({
    maxInFlight: config.maxInFlight,
    onRefused: (api) => metrics.overloadRefusals.inc({ api }),
    onRefusedLog: (refused, limit) =>
      logger.warn({ refused, limit }, "overloaded: calls refused at SOVR_MAX_IN_FLIGHT"),
  });
  // WatchDecisions streams wake on this replica's commits (and poll for other replicas').
  const commits = new CommitSignal();
  audit.onCommitted(() => commits.notify());
  const authOn = config.auth === "on";
  // API keys, and the workload identities configured (JWT issuers, certificate rules).
  const callers = new CallerAuth(
    auth,
    new JwtVerifier(config.identity.issuers),
    config.identity.certificateRules,
  );
  const reportInternal = internalErrorLog(logger);
  const observe = observedAuth(tracing);
  // Connect/gRPC: connect-es on both ports, and the gRPC port's own gRPC path (raw HTTP/2 streams).
  const rpc = rpcHandlers({
    access: accessRecorder(logger, tracing),
    auth: authOn ? callers : undefined,
    maxRequestBytes: config.requestLimits.requestBytes,
    limiter,
    admission,
    reportInternal,
    observeAuth: observe,
    routes: (r) =>
      registerServices(r, {
        keys: [db.db, auth, trail],
        byok: byokAdmin,
        budgets: new BudgetAdmin(db.db, p.budgets, budgetTrail(trail)),
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
          commits,
          shutdown: shutdown.signal,
          checkpointer,
          checkpointers,
          shardOf: (tenant) => audit.shardOf(tenant),
          // Journal mode: a read sees every record acknowledged before it (AuditLog.settled).
          settled: () => audit.settled(),
          replayer: new Replayer({ db: db.db, catalog, livePolicy: policy.engine }),
          logger,
        },
        health,
      }),
  });
  const connect = rpc.node;
  const httpLimit = new HttpRateLimit(limiter, { authOn });
  const checkHttp = httpAuthenticate(callers, authOn);
  const authenticate = httpLimit.after((req: IncomingMessage, operation: string) =>
    observe(req, () => checkHttp(req, operation)),
  );
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
    admission,
    metrics,
    openai,
    anthropic,
    console: consoleHandler(),
    connect,
    maxRequestBytes: config.requestLimits.requestBytes,
    readiness: {
      pingDatabase: () => pingDatabase(db.db, config.storageTimeoutMs),
      storage: db.storage,
      policyRevision: () => policy.activeBundle()?.revision,
      catalogRevision: () => (catalog.loaded ? catalog.current().revision : undefined),
      serving: () => health.serving,
      auditFault: () => auditFault(checkpointers, audit),
      auditCommit: { stalledMs: () => audit.commitStalledMs(), boundMs: config.storageTimeoutMs },
    },
  });

  const tls = config.tls ? await loadTlsOptions(config.tls) : undefined;
  const httpTls = config.httpTls ? await loadHttpsOptions(config.httpTls) : undefined;
  // One access line per request and, with tracing on, its server span: both ports, every surface.
  const servers = await listen(accessLogged(connect, logger, tracing), accessLogged(http, logger, tracing), {
    host: config.host,
    grpcPort: config.grpcPort,
    httpPort: config.httpPort,
    tls,
    httpTls,
    grpcStream: rpc.grpc,
    http2: {
      ...config.http2,
      onRapidReset: (remote) =>
        logger.warn({ remote }, "HTTP/2 connection closed: streams reset too fast (ENHANCE_YOUR_CALM)"),
    },
  });
  metrics.countInflight(() => servers.inflight);
  const tlsReload = watchCertificates(config, servers, { grpc: tls, http: httpTls }, logger);
  if (config.tls && !config.httpTls && !/^(127\.|::1$|localhost$)/.test(config.host))
    logger.warn(
      { httpPort: servers.httpPort, host: config.host },
      "the gRPC port has TLS but the HTTP port is cleartext on a non-loopback address; SOVR_HTTP_TLS=on serves it with the same certificate",
    );
  health.set(true);
  logger.info({ grpcPort: servers.grpcPort, httpPort: servers.httpPort, host: config.host }, "sovr serving");

  return { servers, health, shutdown, tlsReload };
}

/** Certificate renewal on the TLS ports (docs/security.md §5); logs what it applies or refuses. */
function watchCertificates(
  config: Config,
  servers: RunningServers,
  options: { grpc: TlsReloadTarget["options"] | undefined; http: TlsReloadTarget["options"] | undefined },
  logger: Logger,
): TlsReloader | undefined {
  const targets: TlsReloadTarget[] = [];
  if (config.tls && options.grpc && servers.secure.grpc)
    targets.push({ port: "grpc", files: config.tls, server: servers.secure.grpc, options: options.grpc });
  if (config.httpTls && options.http && servers.secure.http)
    targets.push({ port: "http", files: config.httpTls, server: servers.secure.http, options: options.http });
  if (targets.length === 0) return undefined;
  const reloader = new TlsReloader(targets, config.tlsReloadMs);
  reloader.on("reloaded", (e) => logger.info(e, "TLS certificate renewed"));
  reloader.on("failed", (e) => logger.error(e, "TLS certificate renewal refused; the current one stays"));
  reloader.start();
  return reloader;
}
