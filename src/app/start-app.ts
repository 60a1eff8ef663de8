import { Authenticator, ByokAdmin, ByokStore, MasterKey } from "../auth/index.js";
import { BudgetStore } from "../budget/index.js";
import { EndpointStatsTracker, LiveCatalog, readCatalogFiles, watchCatalogDir } from "../catalog/index.js";
import { type Config, checkPrivateFile, ensurePrivateDir } from "../config/index.js";
import { openDatabase } from "../db/index.js";
import { createLogger, Metrics, startTracing } from "../telemetry/index.js";
import { PoolSet } from "../upstream/index.js";
import { byokGate, gateCatalog, startAdminTrail } from "./admin-trail.js";
import type { App, StartOptions } from "./app.js";
import { startAudit } from "./audit.js";
import { joinCluster } from "./cluster/index.js";
import { createDevKeyOnFirstStart } from "./dev-key.js";
import { logEmbeddedMaintenance } from "./embedded-maintenance-log.js";
import { startKeyExpiryTrail } from "./key-expiry-trail.js";
import { startLocalModels, warmLocalModels } from "./local-models.js";
import { startLocalProber } from "./local-probe.js";
import { startPolicy } from "./policy.js";
import { buildRouter, contentDetector } from "./router.js";
import { serve } from "./serve.js";
import { type ShutdownStep, stopOnce } from "./shutdown.js";
import { startConfiguredSimulator } from "./simulator.js";
import { tableReadFailures } from "./table-read-failures.js";

/**
 * The composition root of `sovr serve`: opens the database, loads catalog, policy and signing
 * key, builds the router and services, and listens. It only wires: each part is built where it
 * lives. Everything the hot path needs is built here once; a request does no set-up of its own.
 */
export async function startApp(config: Config, opts: StartOptions = {}): Promise<App> {
  const logger = opts.logger ?? createLogger(config.logLevel, undefined, config.logFormat);
  const metrics = new Metrics();
  const cleanups: ShutdownStep[] = [];
  try {
    // Off unless OTEL_* asks for it; then the SDK is loaded here, and flushed last on stop.
    const tracing = await startTracing(config.tracing);
    cleanups.push({ name: "trace export", run: () => tracing.shutdown() });
    if (tracing.enabled) logger.info({ traces: config.tracing?.url }, "tracing on (OTLP)");
    let env = { ...(opts.env ?? process.env) };
    const simulator = config.simulator.enabled
      ? await startConfiguredSimulator(config, logger, cleanups)
      : undefined;
    if (simulator) env = { SOVR_SIMULATOR_URL: simulator.url, ...env };

    const db = await openDatabase({
      databaseUrl: config.databaseUrl,
      dataDir: config.dataDir,
      storageTimeoutMs: config.storageTimeoutMs,
      sharedBuffersMiB: config.pgliteSharedBuffersMiB,
      onEmbeddedMaintenance: (e) => logEmbeddedMaintenance(logger, e),
    });
    cleanups.push({ name: "database close", run: () => db.close() });
    // The signing keys and the BYOK master key: reachable by the service user alone (the data
    // directory, which holds the keys by default, is checked first, where the database opens it).
    await ensurePrivateDir(config.keysDir, "signing keys directory");
    if (config.byok.masterKeyFile) await checkPrivateFile(config.byok.masterKeyFile, "BYOK master key file");
    logger.info({ database: db.kind }, "database ready");

    const auth = new Authenticator(db.db, undefined, undefined, config.storageTimeoutMs);
    auth.reportReadFailures(tableReadFailures("api_keys", logger, metrics));
    if (config.auth === "on") {
      await createDevKeyOnFirstStart(db, opts.announceDevKey);
      // The key table lives in memory (constant-time lookup); re-read in the background.
      await auth.start();
      cleanups.push({ name: "key table refresh", run: () => auth.stop() });
    } else logger.warn("SOVR_AUTH=off: every caller is the default tenant's client (local use only)");

    // The signed log first: the catalog and the policy bundle loaded next are admin records in it.
    const { audit, checkpointer, checkpointers, witnesses } = await startAudit(
      config,
      db,
      logger,
      metrics,
      cleanups,
    );
    const trail = startAdminTrail(audit, config.instance);
    const keyExpiries = await startKeyExpiryTrail(db, trail, logger, cleanups);

    // Catalog: a bad catalog stops start-up (the error names file, path and reason).
    const catalog = new LiveCatalog(db.db, env, config.catalogEnv);
    gateCatalog(catalog, trail);
    const local = await startLocalModels(config, catalog, logger, metrics, cleanups);
    const { snapshot } = await catalog.apply(await readCatalogFiles(config.catalogDir));
    metrics.catalogRevisions.inc({ result: "applied" });
    logger.info({ revision: snapshot.revision, endpoints: snapshot.endpoints.length }, "catalog loaded");
    warmLocalModels(local, snapshot, logger);
    const watcher = config.catalogWatch
      ? watchCatalogDir(config.catalogDir, catalog, logger, metrics)
      : undefined;
    cleanups.push({ name: "catalog watcher", run: () => watcher?.close() });

    const policy = await startPolicy(config, db, catalog, logger, metrics, cleanups, trail);
    const byok = new ByokStore(db.db, MasterKey.fromConfig(config.byok), {
      onDecryptError: (tenant, provider) =>
        logger.error({ tenant, provider }, "BYOK key cannot be decrypted with the configured master key"),
    });
    const budgets = new BudgetStore(db.db, config.budgets.refreshMs);
    budgets.reportReadFailures(tableReadFailures("budgets", logger, metrics));
    await budgets.start();
    cleanups.push({ name: "budget refresh", run: () => budgets.close() });
    const pools = new PoolSet();
    cleanups.push({ name: "upstream connections", run: () => pools.close() });
    const stats = new EndpointStatsTracker();
    const prober = await startLocalProber(config, env, catalog, logger, cleanups);
    const router = buildRouter({
      prober,
      config,
      env,
      db,
      catalog,
      policy,
      audit,
      checkpointer,
      checkpointers,
      byok,
      pools,
      local,
      stats,
      budgets,
      logger,
      metrics,
      tracing,
      detector: contentDetector(config, opts.detector),
    });
    const byokAdmin = new ByokAdmin(byok, catalog, byokGate(trail));

    if (opts.cluster)
      joinCluster(opts.cluster, { catalog, byok, auth, budgets, metrics, audit, checkpointers, logger });

    const parts = {
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
      budgets,
      logger,
      metrics,
      tracing,
    };
    const { servers, health, shutdown, tlsReload } = await serve(parts);
    cleanups.push({ name: "TLS certificate watch", run: () => tlsReload?.stop() });

    return {
      ...parts, // the parts tests reach into; `policy` is the engine
      policy: policy.engine,
      bundles: policy.bundles,
      audit,
      witnesses,
      byok,
      simulator,
      servers,
      tlsReload,
      keyExpiries,
      grpcUrl: `${config.tls ? "https" : "http"}://${config.host}:${servers.grpcPort}`,
      httpUrl: `${config.httpTls ? "https" : "http"}://${config.host}:${servers.httpPort}`,
      stop: stopOnce({ drainMs: config.drainMs, health, shutdown, servers, cleanups, logger }),
    };
  } catch (err) {
    for (const c of cleanups.reverse()) await Promise.resolve(c.run()).catch(() => {});
    throw err;
  }
}
