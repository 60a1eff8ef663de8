import { readFile } from "node:fs/promises";
import type { AdminTrail } from "../audit/index.js";
import type { LiveCatalog } from "../catalog/index.js";
import type { Config } from "../config/index.js";
import type { DatabaseHandle } from "../db/index.js";
import { type BundleRef, BundleSource, PolicyEngine, saveBundle } from "../policy/index.js";
import { catalogPolicyEndpoints } from "../routing/index.js";
import type { Logger, Metrics } from "../telemetry/index.js";
import { recordBundleActivation } from "./admin-trail.js";
import type { ShutdownStep } from "./shutdown.js";

export interface RunningPolicy {
  readonly engine: PolicyEngine;
  readonly bundles: BundleSource;
  /** The bundle that serves now; none means no routing (fail closed). */
  activeBundle(): BundleRef | undefined;
}

/**
 * The policy engine, fed the catalog's endpoints per catalog revision, and its bundle source.
 * The last good bundle serves; none means no routing (fail closed), not no start.
 */
export async function startPolicy(
  config: Config,
  db: DatabaseHandle,
  catalog: LiveCatalog,
  logger: Logger,
  metrics: Metrics,
  cleanups: ShutdownStep[],
  /** Where each activation is recorded before it serves (absent: not recorded). */
  trail?: AdminTrail,
): Promise<RunningPolicy> {
  const engine = new PolicyEngine({
    poolSize: config.policy.poolSize,
    timeBudgetMicros: config.policy.timeoutMs * 1000,
    decisionCacheSize: config.policy.decisionCache,
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
      await saveBundle(db.db, bytes, ref);
      // Recorded before it serves; no record, no activation (the last good bundle stays).
      if (trail) await recordBundleActivation(trail, ref, activeBundle);
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
  return { engine, bundles, activeBundle: () => activeBundle };
}
