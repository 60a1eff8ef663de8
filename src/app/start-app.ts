import { type FSWatcher, watch } from "node:fs";
import { readFile } from "node:fs/promises";
import type { IncomingMessage, ServerResponse } from "node:http";
import { connectNodeAdapter } from "@connectrpc/connect-node";
import {
  AuditServiceImpl,
  authInterceptor,
  ByokServiceImpl,
  CatalogServiceImpl,
  createOpenAIHttpHandler,
  HealthState,
  HttpRateLimit,
  headerValue,
  internalErrorInterceptor,
  internalErrorLog,
  KeyServiceImpl,
  listen,
  loadTlsOptions,
  malformedRequestsAreInvalidArgument,
  type NodeHandler,
  PreAuth,
  RateLimiter,
  ReflectionIndex,
  RouterServiceImpl,
  type RunningServers,
  rateLimitInterceptor,
  registerHealth,
  registerReflection,
  toConnectError,
} from "../api/index.js";
import {
  AuditLog,
  Checkpointer,
  currentSigningKey,
  LatestCheckpointFile,
  publishSigningKey,
  rotateSigningKey,
} from "../audit/index.js";
import {
  Authenticator,
  authorize,
  ByokAdmin,
  ByokStore,
  countApiKeys,
  createApiKey,
  MasterKey,
  TENANT_HEADER,
} from "../auth/index.js";
import {
  CatalogValidationError,
  EndpointStatsTracker,
  LiveCatalog,
  readCatalogFiles,
} from "../catalog/index.js";
import type { Config } from "../config/index.js";
import { checkPrivateFile, ensurePrivateDir, LIMITS, providerKeyEnv } from "../config/index.js";
import { type DatabaseHandle, openDatabase, pingDatabase } from "../db/index.js";
import { Health } from "../gen/grpc/health/v1/health_pb.js";
import { AuditService } from "../gen/sovereign/v1/audit_pb.js";
import { ByokService } from "../gen/sovereign/v1/byok_pb.js";
import { CatalogService } from "../gen/sovereign/v1/catalog_pb.js";
import { KeyService } from "../gen/sovereign/v1/keys_pb.js";
import { RouterService } from "../gen/sovereign/v1/router_pb.js";
import type { BundleRef } from "../policy/index.js";
import { BundleSource, PolicyEngine } from "../policy/index.js";
import { Replayer } from "../replay/index.js";
import {
  AuditRecorder,
  catalogPolicyEndpoints,
  HealthTracker,
  OUTCOME_RETRY_MS,
  Router,
  retryUntilDurable,
} from "../routing/index.js";
import { type Simulator, startSimulator } from "../simulator/index.js";
import { createLogger, type Logger, Metrics } from "../telemetry/index.js";
import { AnthropicAdapter, OpenAICompatibleAdapter, PoolSet } from "../upstream/index.js";
import { runShutdownSteps, type ShutdownStep } from "./shutdown.js";

export interface App {
  readonly config: Config;
  readonly logger: Logger;
  readonly metrics: Metrics;
  readonly db: DatabaseHandle;
  readonly catalog: LiveCatalog;
  readonly policy: PolicyEngine;
  readonly bundles: BundleSource;
  readonly audit: AuditLog;
  /** Signs checkpoints of the log and serves its proofs. */
  readonly checkpointer: Checkpointer;
  readonly router: Router;
  readonly auth: Authenticator;
  /** Tenants' own provider keys (BYOK), encrypted under SOVR_MASTER_KEY. */
  readonly byok: ByokStore;
  /** The BYOK rules every surface shares (tenant check, origins from the live catalog). */
  readonly byokAdmin: ByokAdmin;
  readonly simulator: Simulator | undefined;
  readonly servers: RunningServers;
  readonly grpcUrl: string;
  readonly httpUrl: string;
  /**
   * Drains in-flight calls (bounded by `config.drainMs`), flushes the log, closes everything,
   * all within the drain time (see runShutdownSteps); `unflushed` names the steps that failed.
   */
  stop(): Promise<{ drained: boolean; cut: number; unflushed: string[] }>;
}

export interface StartOptions {
  logger?: Logger;
  /**
   * Where the one-time development key of a first start is announced (default: a banner on
   * stderr). The key is never logged.
   */
  announceDevKey?: (token: string) => void;
  /** Environment for catalog interpolation and provider credentials (default process.env). */
  env?: Record<string, string | undefined>;
}

/**
 * The composition root of `sovr serve`: opens the database, loads catalog, policy and signing
 * key, builds the router and services, and listens. Everything the hot path needs is built
 * here once; a request does no set-up of its own.
 */
export async function startApp(config: Config, opts: StartOptions = {}): Promise<App> {
  const logger = opts.logger ?? createLogger(config.logLevel);
  const metrics = new Metrics();
  const cleanups: ShutdownStep[] = [];
  const fail = async (err: unknown) => {
    for (const c of cleanups.reverse()) await Promise.resolve(c.run()).catch(() => {});
    throw err;
  };

  try {
    let env = { ...(opts.env ?? process.env) };
    let simulator: Simulator | undefined;
    if (config.simulator.enabled) {
      const { ttftMs, tokensPerSecond, completionTokens } = config.simulator;
      simulator = await startSimulator({
        port: config.simulator.port,
        defaults: { ttftMs, tokensPerSecond, completionTokens },
      });
      cleanups.push({ name: "upstream simulator", run: () => simulator?.close() });
      env = { SOVR_SIMULATOR_URL: simulator.url, ...env };
      logger.info({ url: simulator.url }, "upstream simulator listening");
    }

    const db = await openDatabase({
      databaseUrl: config.databaseUrl,
      dataDir: config.dataDir,
      storageTimeoutMs: config.storageTimeoutMs,
    });
    cleanups.push({ name: "database close", run: () => db.close() });
    // The signing keys and the BYOK master key: reachable by the service user alone (the data
    // directory, which holds the keys by default, is checked first, where the database opens it).
    await ensurePrivateDir(config.keysDir, "signing keys directory");
    if (config.byok.masterKeyFile) await checkPrivateFile(config.byok.masterKeyFile, "BYOK master key file");
    logger.info({ database: db.kind }, "database ready");

    // API keys: on the very first start, one development key — a platform operator with every
    // role and every tenant, for local use — shown once.
    const auth = new Authenticator(db.db);
    if (config.auth === "on" && (await countApiKeys(db.db)) === 0) {
      const { token } = await createApiKey(db.db, {
        tenant: "default",
        roles: ["client", "auditor", "admin", "operator"],
        allTenants: true,
        description: "development operator key (created on first start; local use)",
      });
      (opts.announceDevKey ?? printDevKey)(token);
    }
    if (config.auth === "on") {
      // The key table lives in memory (constant-time lookup); re-read in the background.
      await auth.start();
      cleanups.push({ name: "key table refresh", run: () => auth.stop() });
    }
    if (config.auth === "off")
      logger.warn("SOVR_AUTH=off: every caller is the default tenant's client (local use only)");

    // Catalog: a bad catalog stops start-up (the error names file, path and reason).
    const catalog = new LiveCatalog(db.db, env, config.catalogEnv);
    const { snapshot } = await catalog.apply(await readCatalogFiles(config.catalogDir));
    metrics.catalogRevisions.inc({ result: "applied" });
    logger.info({ revision: snapshot.revision, endpoints: snapshot.endpoints.length }, "catalog loaded");
    let catalogWatcher: FSWatcher | undefined;
    if (config.catalogWatch) catalogWatcher = watchCatalog(config.catalogDir, catalog, logger, metrics);
    cleanups.push({ name: "catalog watcher", run: () => catalogWatcher?.close() });

    // Policy: the last good bundle serves; none means no routing (fail closed), not no start.
    const engine = new PolicyEngine({
      poolSize: config.policy.poolSize,
      timeBudgetMicros: config.policy.timeoutMs * 1000,
    });
    // The policy instances hold the catalog's endpoints as data, reloaded per catalog revision.
    engine.setCatalog(catalogPolicyEndpoints(catalog.current()));
    cleanups.push({
      name: "catalog listener",
      run: catalog.onChange(({ snapshot }) => engine.setCatalog(catalogPolicyEndpoints(snapshot))),
    });
    let activeBundle: BundleRef | undefined;
    const verificationKey = config.policy.verificationKeyFile
      ? {
          publicKeyPem: await readFile(config.policy.verificationKeyFile, "utf8"),
          algorithm: config.policy.verificationAlgorithm,
        }
      : undefined;
    const bundles = new BundleSource({
      engine,
      path: config.policy.bundlePath,
      url: config.policy.bundleUrl,
      verificationKey,
      logger,
      onLoaded: async (bytes, ref) => {
        await db.db
          .insertInto("policy_bundles")
          .values({ sha256: ref.sha256, revision: ref.revision, bundle: bytes })
          .onConflict((oc) => oc.column("sha256").doNothing())
          .execute();
        activeBundle = ref;
        metrics.policyBundleLoads.inc({ result: "loaded" });
      },
      onRejected: () => metrics.policyBundleLoads.inc({ result: "rejected" }),
    });
    await bundles.start();
    cleanups.push({ name: "policy bundle source", run: () => bundles.stop() });
    if (!activeBundle)
      logger.error(
        { path: config.policy.bundlePath },
        "no valid policy bundle: routing refused until one loads",
      );

    // Signing key: created on first start, published with its validity range.
    let key = await currentSigningKey(config.keysDir);
    if (!key) {
      key = await rotateSigningKey(config.keysDir);
      logger.info({ keyId: key.keyId, dir: config.keysDir }, "generated a new record signing key");
    }
    await publishSigningKey(db.db, key);
    const audit = new AuditLog(db.db, db.kind, key, {
      batchDelayMs: config.audit.batchDelayMs,
      batchMax: config.audit.batchMax,
      commitTimeoutMs: config.storageTimeoutMs,
      onBatch: (size, seconds) => {
        metrics.auditBatchSize.observe(size);
        metrics.auditCommitSeconds.observe(seconds);
      },
    });
    cleanups.push({ name: "audit log flush", run: () => audit.drain() });
    // Checkpoints of the Merkle log; stopping it (before audit.drain above, cleanups run in
    // reverse) drains the log and signs a final checkpoint. The latest one signed is also kept
    // beside the keys: a log cut or rewritten behind it (a fork) stops start-up here.
    const checkpointer = new Checkpointer(db.db, db.kind, audit, key, {
      origin: config.audit.checkpointOrigin,
      every: config.audit.checkpointEvery,
      intervalMs: config.audit.checkpointIntervalMs,
      latestFile: new LatestCheckpointFile(config.keysDir, config.audit.checkpointOrigin),
      logger,
    });
    await checkpointer.start();
    cleanups.push({ name: "final checkpoint", run: () => checkpointer.stop() });

    const byok = new ByokStore(db.db, MasterKey.fromConfig(config.byok), {
      onDecryptError: (tenant, provider) =>
        logger.error({ tenant, provider }, "BYOK key cannot be decrypted with the configured master key"),
    });
    const pools = new PoolSet();
    cleanups.push({ name: "upstream connections", run: () => pools.close() });
    const stats = new EndpointStatsTracker();
    // No routing over a log the checkpointer no longer vouches for (a fork, an altered row).
    const recorder = new AuditRecorder(audit, { fault: () => checkpointer.fault });
    const router = new Router({
      catalog,
      policy: { evaluate: (input) => engine.evaluate(input), activeBundle: () => activeBundle },
      recorder: {
        recordDecision: (r, i) => {
          // Storage known bad (gone, full, not taking writes): refused before trying.
          const refused = db.storage?.refusal();
          const recorded = refused ? Promise.reject(new Error(refused)) : recorder.recordDecision(r, i);
          return recorded.catch((err: unknown) => {
            metrics.auditFailures.inc({ kind: "decision" });
            logger.error({ err, decisionId: r.decision_id }, "decision record not durable; request refused");
            throw err;
          });
        },
        // The prompt has already gone: an outcome must not be lost to a database blip, so
        // it is retried (with backoff, for up to OUTCOME_RETRY_MS) until it is durable.
        recordOutcome: (r) =>
          retryUntilDurable(
            () => recorder.recordOutcome(r),
            OUTCOME_RETRY_MS,
            (attempt, err) => {
              if (attempt === 1)
                logger.warn({ err, decisionId: r.decision_id }, "outcome record not yet durable; retrying");
            },
          ).catch((err: unknown) => {
            metrics.auditFailures.inc({ kind: "outcome" });
            logger.error({ err, decisionId: r.decision_id }, "outcome record not durable");
            throw err;
          }),
      },
      adapters: { openai: new OpenAICompatibleAdapter(pools), anthropic: new AnthropicAdapter(pools) },
      byok,
      observer: {
        policyEvaluated: (us) => metrics.policyEvalSeconds.observe(us / 1e6),
        attempt: (endpoint, result) => metrics.upstreamAttempts.inc({ endpoint, result }),
        finished: (outcome, seconds) => {
          metrics.requests.inc({ outcome });
          metrics.requestSeconds.observe(seconds);
        },
      },
      health: new HealthTracker(),
      stats,
      instance: config.instance,
      timeouts: config.upstream,
      // Only the allow-listed provider keys: a catalog cannot make the router read anything else.
      env: providerKeyEnv(env, config.catalogEnv),
    });

    const byokAdmin = new ByokAdmin(byok, catalog);
    const services = [RouterService, CatalogService, AuditService, KeyService, ByokService, Health];
    const health = new HealthState(services.map((s) => s.typeName));
    const reflection = new ReflectionIndex([...services]);
    // Aborted when stop() begins: long-lived streams (WatchCatalog) end instead of being cut.
    const shutdown = new AbortController();
    // Rate and concurrency limits count the authenticated caller, so they run after auth.
    const limiter = new RateLimiter(config.limits);
    const httpLimit = new HttpRateLimit(limiter, { authOn: config.auth === "on" });
    const limit = rateLimitInterceptor(limiter, { authOn: config.auth === "on" });
    // RPCs are authorised from their headers before connect reads their body (both ports).
    const reportInternal = internalErrorLog(logger);
    const preAuth =
      config.auth === "on"
        ? new PreAuth(
            (operation, h) =>
              authorize(auth, operation, headerValue(h, "authorization"), headerValue(h, TENANT_HEADER)),
            reportInternal,
          )
        : undefined;
    const connectHandler = connectNodeAdapter({
      interceptors: [
        internalErrorInterceptor(reportInternal),
        ...(config.auth === "on" ? [authInterceptor(auth)] : []),
        limit,
      ],
      contextValues: preAuth?.contextValues,
      // Connect's default is 4 GiB; a message larger than the request limit is refused unread
      // (ResourceExhausted, as every gRPC implementation answers an oversized message).
      readMaxBytes: LIMITS.requestBytes,
      // Unknown fields of a request are dropped, not kept: nothing reads them.
      binaryOptions: { readUnknownFields: false },
      routes: (r) => {
        r.service(KeyService, new KeyServiceImpl(db.db, auth));
        r.service(ByokService, new ByokServiceImpl(byokAdmin));
        r.service(RouterService, new RouterServiceImpl(router));
        r.service(
          CatalogService,
          new CatalogServiceImpl({
            catalog,
            stats,
            db: db.db,
            shutdown: shutdown.signal,
            onApply: (result) => metrics.catalogRevisions.inc({ result }),
          }),
        );
        r.service(
          AuditService,
          new AuditServiceImpl({
            db: db.db,
            checkpointer,
            replayer: new Replayer({ db: db.db, catalog, livePolicy: engine }),
            logger,
          }),
        );
        registerHealth(r, health);
        registerReflection(r, reflection);
        malformedRequestsAreInvalidArgument(r);
      },
    });
    const connect = preAuth ? preAuth.wrap(connectHandler as NodeHandler) : (connectHandler as NodeHandler);

    const readiness = async () => {
      const checks: Record<string, string> = {};
      try {
        await pingDatabase(db.db, config.storageTimeoutMs);
        checks.database = "ok";
      } catch (err) {
        checks.database = `unavailable: ${(err as Error).message}`;
      }
      if (db.storage) checks.storage = await db.storage.check();
      checks.policy = activeBundle ? `ok (${activeBundle.revision})` : "no valid bundle";
      checks.catalog = catalog.loaded ? `ok (${catalog.current().revision})` : "not loaded";
      checks.serving = health.serving ? "ok" : "draining";
      checks.audit_log = checkpointer.fault ? "integrity fault (see the server log)" : "ok";
      return { ready: Object.values(checks).every((v) => v.startsWith("ok")), checks };
    };
    const openaiHttp = createOpenAIHttpHandler({
      router,
      catalog,
      byok: byokAdmin,
      onInternalError: reportInternal,
      // The same check as the Connect interceptor (src/auth/access.ts), mapped to HTTP there.
      authenticate: httpLimit.after(async (req, operation) => {
        if (config.auth === "off")
          return { tenant: "default", workload: "", roles: ["client"], keyId: "", allTenants: true };
        try {
          const h = req.headers;
          const p = await authorize(
            auth,
            operation,
            headerValue(h, "authorization"),
            headerValue(h, TENANT_HEADER),
          );
          return p ?? { tenant: "default", workload: "", roles: [], keyId: "", allTenants: false };
        } catch (err) {
          throw toConnectError(err);
        }
      }),
    });
    const http: NodeHandler = (req, res) => {
      httpLimit.track(req as IncomingMessage, res as ServerResponse);
      const url = req.url ?? "/";
      if (url === "/healthz") return void text(res as ServerResponse, 200, "ok\n");
      if (url === "/readyz") {
        void readiness().then(({ ready, checks }) =>
          text(
            res as ServerResponse,
            ready ? 200 : 503,
            `${JSON.stringify({ ready, checks })}\n`,
            "application/json",
          ),
        );
        return;
      }
      if (url === "/metrics") {
        void metrics.registry
          .metrics()
          .then((body) => text(res as ServerResponse, 200, body, metrics.registry.contentType));
        return;
      }
      if (openaiHttp(req as IncomingMessage, res as ServerResponse)) return;
      if (Number(req.headers["content-length"]) > LIMITS.requestBytes)
        return void connectTooLarge(res as ServerResponse);
      connect(req as IncomingMessage, res as ServerResponse);
    };

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
    logger.info(
      { grpcPort: servers.grpcPort, httpPort: servers.httpPort, host: config.host },
      "sovr serving",
    );

    let stopping: ReturnType<App["stop"]> | undefined;
    return {
      config,
      logger,
      metrics,
      db,
      catalog,
      policy: engine,
      bundles,
      audit,
      checkpointer,
      router,
      auth,
      byok,
      byokAdmin,
      simulator,
      servers,
      grpcUrl: `${config.tls ? "https" : "http"}://${config.host}:${servers.grpcPort}`,
      httpUrl: `http://${config.host}:${servers.httpPort}`,
      stop() {
        stopping ??= (async () => {
          const deadline = performance.now() + config.drainMs;
          health.set(false);
          shutdown.abort();
          const result = await servers.close(config.drainMs);
          const unflushed = await runShutdownSteps(cleanups.reverse(), deadline, logger);
          return { ...result, unflushed };
        })();
        return stopping;
      },
    };
  } catch (err) {
    return fail(err);
  }
}

function printDevKey(token: string): void {
  process.stderr.write(
    [
      "",
      "  DEVELOPMENT API KEY — created on first start, shown only this once.",
      "  It is a PLATFORM OPERATOR key for local use: every role (client, auditor, admin,",
      '  operator) for tenant "default", and it reads every tenant\'s decision records.',
      "  It can change the catalog and create any key, including operator keys. For real",
      "  use, create scoped keys with `sovr keys create` and revoke this one.",
      "",
      `    export SOVR_KEY=${token}`,
      "",
      "",
    ].join("\n"),
  );
}

/**
 * A Connect call on the HTTP/1.1 port whose declared body exceeds the request limit: 413 with a
 * Connect error body, answered before reading it (a chunked body meets connect's readMaxBytes).
 */
function connectTooLarge(res: ServerResponse): void {
  const body = JSON.stringify({
    code: "resource_exhausted",
    message: `request body larger than ${LIMITS.requestBytes} bytes`,
  });
  res.writeHead(413, {
    "content-type": "application/json",
    "content-length": Buffer.byteLength(body),
    connection: "close",
  });
  res.end(body);
}

function text(res: ServerResponse, status: number, body: string, type = "text/plain; charset=utf-8"): void {
  res.writeHead(status, { "content-type": type, "content-length": Buffer.byteLength(body) });
  res.end(body);
}

/** Re-applies the catalog directory on change; a bad edit is logged and the running catalog stays. */
function watchCatalog(dir: string, catalog: LiveCatalog, logger: Logger, metrics: Metrics): FSWatcher {
  let timer: NodeJS.Timeout | undefined;
  const reload = async () => {
    try {
      const { snapshot, changed } = await catalog.apply(await readCatalogFiles(dir));
      metrics.catalogRevisions.inc({ result: changed ? "applied" : "unchanged" });
      if (changed) logger.info({ revision: snapshot.revision }, "catalog reloaded");
    } catch (err) {
      metrics.catalogRevisions.inc({ result: "rejected" });
      const issues = err instanceof CatalogValidationError ? err.issues : undefined;
      logger.error(
        { issues, err: issues ? undefined : err },
        "catalog change rejected; running catalog kept",
      );
    }
  };
  const w = watch(dir, () => {
    clearTimeout(timer);
    timer = setTimeout(() => void reload(), 200);
  });
  w.on("error", (err) => logger.error({ err }, "catalog watch failed"));
  return w;
}
