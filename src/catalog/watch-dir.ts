import { type FSWatcher, watch } from "node:fs";
import type { Logger, Metrics } from "../telemetry/index.js";
import type { LiveCatalog } from "./catalog-store.js";
import { readCatalogFiles } from "./catalog-store.js";
import { CatalogValidationError } from "./errors.js";

/** Re-applies the catalog directory on change; a bad edit is logged and the running catalog stays. */
export function watchCatalogDir(
  dir: string,
  catalog: LiveCatalog,
  logger: Logger,
  metrics: Metrics,
): FSWatcher {
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
