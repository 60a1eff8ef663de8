import type { MaintenanceEvent } from "../db/index.js";
import type { Logger } from "../telemetry/index.js";

/**
 * A command that held the embedded database this long held every request's record as long:
 * logged as a warning, so that an operator sees the stall and its cause side by side.
 */
export const STALL_WARN_MS = 1000;

/** One log line per table the embedded database vacuumed or analyzed, and per failed task. */
export function logEmbeddedMaintenance(logger: Logger, e: MaintenanceEvent): void {
  if (e.kind === "failed") {
    logger.warn({ task: e.task, code: e.code, err: e.message }, `embedded database ${e.task} failed`);
    return;
  }
  for (const d of e.done) {
    const what = d.vacuum ? (d.analyze ? "vacuum and analyze" : "vacuum") : "analyze";
    const fields = { table: d.table, wraparound: d.wraparound || undefined, ms: Math.round(d.ms) };
    if (d.ms >= STALL_WARN_MS)
      logger.warn(fields, `embedded database ${what} held the database for ${Math.round(d.ms)} ms`);
    else logger.info(fields, `embedded database ${what}`);
  }
}
