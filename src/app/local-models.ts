import { type FSWatcher, watch } from "node:fs";
import { mkdir } from "node:fs/promises";
import {
  type CatalogSnapshot,
  CatalogValidationError,
  isCountryCode,
  type LiveCatalog,
  LOCAL_CONTEXT_SIZE,
  localProviderSource,
  readLocalModels,
} from "../catalog/index.js";
import { type Config, ConfigError } from "../config/index.js";
import type { Logger, Metrics } from "../telemetry/index.js";
import { LocalAdapter } from "../upstream/index.js";
import type { ShutdownStep } from "./shutdown.js";

/**
 * The models directory as the catalog's `local` provider, read before the first catalog apply
 * and re-read when the directory changes; and the in-process adapter that serves it (which
 * loads node-llama-cpp only when a local endpoint is first called).
 */
export async function startLocalModels(
  config: Config,
  catalog: LiveCatalog,
  logger: Logger,
  metrics: Metrics,
  cleanups: ShutdownStep[],
): Promise<LocalAdapter> {
  const location = config.location;
  if (location !== undefined && !isCountryCode(location)) {
    throw new ConfigError("SOVR_LOCATION", `${location} is not an assigned ISO 3166-1 alpha-2 country code`);
  }
  const dir = config.local.modelsDir;
  const load = async () => {
    const models = await readLocalModels(dir, (file, reason) =>
      logger.warn({ file, reason }, "local model sidecar skipped"),
    );
    if (models.length > 0 && location === undefined) {
      logger.warn(
        "SOVR_LOCATION is not set: local endpoints' residency and headquarters are unknown (worst case)",
      );
    }
    return localProviderSource(models, location);
  };
  await catalog.setLocalProvider(await load());

  let warmOnChange = () => {};
  let watcher: FSWatcher | undefined;
  if (config.catalogWatch) {
    await mkdir(dir, { recursive: true });
    let timer: NodeJS.Timeout | undefined;
    const reload = async () => {
      try {
        const changed = await catalog.setLocalProvider(await load());
        metrics.catalogRevisions.inc({ result: changed ? "applied" : "unchanged" });
        if (changed) warmOnChange();
        if (changed) logger.info({ revision: catalog.current().revision }, "local models reloaded");
      } catch (err) {
        metrics.catalogRevisions.inc({ result: "rejected" });
        const issues = err instanceof CatalogValidationError ? err.issues : undefined;
        logger.error(
          { issues, err: issues ? undefined : err },
          "local models change rejected; running catalog kept",
        );
      }
    };
    watcher = watch(dir, () => {
      clearTimeout(timer);
      timer = setTimeout(() => void reload(), 200);
    });
    watcher.on("error", (err) => logger.error({ err }, "models directory watch failed"));
  }
  const adapter = new LocalAdapter({
    threads: config.local.threads,
    slots: config.local.slots,
    queueMs: config.local.queueMs,
    contextSize: LOCAL_CONTEXT_SIZE,
  });
  warmOnChange = () => warmLocalModels(adapter, catalog.current(), logger);
  cleanups.push({
    name: "local models",
    run: () => {
      watcher?.close();
      return adapter.close();
    },
  });
  return adapter;
}

/**
 * Loads each local model of `snapshot` in the background (start, and after a models change), so
 * no request pays for reading and hashing the file; a failure is only logged (the request that
 * needs the model tries again and fails with its own error).
 */
export function warmLocalModels(adapter: LocalAdapter, snapshot: CatalogSnapshot, logger: Logger): void {
  for (const e of snapshot.endpoints) {
    if (e.api !== "local" || e.upstreamModel === undefined) continue;
    adapter
      .warm(e.baseUrl, e.upstreamModel)
      .catch((err: unknown) => logger.warn({ endpoint: e.id, err }, "local model could not be loaded ahead"));
  }
}
