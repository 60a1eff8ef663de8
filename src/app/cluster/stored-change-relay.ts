import type { Logger, Metrics } from "../../telemetry/index.js";
import type { Topic } from "./messages.js";
import type { WorkerLink } from "./worker-link.js";

/** Changes stored before they are relayed: BYOK keys, API keys, budgets. */
export type StoredChangeTopic = Extract<Topic, "byok" | "keys" | "budgets">;

/**
 * Tells every worker that a change stored through this one is to be read again, and resolves
 * once they have — or once it is known that some could not (a worker gone, or its read
 * failed): then the miss is counted (`sovr_cluster_relay_failures_total`) and logged, and the
 * promise still resolves. The change is in the database already; a worker that missed it
 * reads it within its refresh interval (a restarted one at its start), so failing the call
 * would only tell the caller that a stored change had not happened (a created key's secret
 * lost, a retry refused as a duplicate or as not found).
 */
export function storedChangeRelay(
  link: WorkerLink,
  metrics: Metrics,
  logger: Logger,
): (topic: StoredChangeTopic, payload: unknown) => Promise<void> {
  return (topic, payload) =>
    link.broadcast(topic, payload).then(
      () => undefined,
      (err: unknown) => {
        metrics.relayFailures.inc({ topic });
        logger.warn(
          { topic, err: err instanceof Error ? err.message : String(err) },
          "a stored change was not read again at once by every worker; they read it within their refresh interval",
        );
      },
    );
}
