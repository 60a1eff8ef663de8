import type { Logger, Metrics } from "../telemetry/index.js";

/** The tables a process holds in memory and re-reads (auth's key table, the budget store's tenants). */
export type HeldTable = "api_keys" | "budgets";

/**
 * What a failed re-read of a table held in memory is reported as: a warning naming the table,
 * when it happened and the database's message (no row of it: the read failed), and
 * `sovr_table_read_failures_total{table, when}`. Nothing is retried here: the holder's next
 * background read is the retry.
 */
export function tableReadFailures(
  table: HeldTable,
  logger: Logger,
  metrics: Metrics,
): (err: unknown, when: "interval" | "change") => void {
  return (err, when) => {
    metrics.tableReadFailures.inc({ table, when });
    logger.warn(
      { table, when, err: err instanceof Error ? err.message : String(err) },
      when === "change"
        ? "a change is stored but this process could not read the table again; its next background read takes it"
        : "the background re-read of a table held in memory failed; it is tried again at the next interval",
    );
  };
}
