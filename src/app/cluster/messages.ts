/**
 * What the primary and its workers say to each other over node:cluster's IPC channel (JSON).
 * Nothing here carries content or a secret: catalog files (the same YAML every worker reads
 * from its directory), a tenant id, an admin actor, metric samples, leaf hashes.
 */

/** A change one worker made that the others must make too (or learn of). */
export type Topic = "catalog" | "byok" | "keys" | "budgets";

/** What one worker tells the others without waiting: the leaves it committed to the log. */
export type SharedTopic = "leaves";

export type WorkerMessage =
  /** Listening: the primary starts the next worker, or reports the set serving. */
  | { sovr: "ready" }
  /** Make `topic` happen in every worker, this one included, after any earlier broadcast. */
  | { sovr: "broadcast"; id: number; topic: Topic; payload: unknown }
  /** The answer to a `notice` (the primary's id): `error` says why this worker could not. */
  | { sovr: "noticed"; id: number; error?: string }
  /** Every worker's metrics, summed, for this worker's `/metrics`. */
  | { sovr: "metrics"; id: number }
  /** For every other worker, no answer and no order: what this worker just did (`leaves`). */
  | { sovr: "share"; topic: SharedTopic; payload: unknown }
  /** The answer to `sample`: this worker's registry as prom-client's getMetricsAsJSON gives it. */
  | { sovr: "sampled"; id: number; metrics?: unknown[]; error?: string };

export type PrimaryMessage =
  /**
   * Make `topic` happen here (every worker receives each broadcast, in the same order). `id` is
   * the primary's; `yours` is the broadcast's own id in the worker that sent it.
   */
  | { sovr: "notice"; id: number; topic: Topic; payload: unknown; yours?: number }
  /** A broadcast (its sender's id) has been noticed everywhere; `errors` names each worker that could not. */
  | { sovr: "broadcasted"; id: number; errors: string[] }
  /** What another worker shared. */
  | { sovr: "shared"; topic: SharedTopic; payload: unknown }
  /** Send this worker's metrics. */
  | { sovr: "sample"; id: number }
  /** The summed metrics asked for with `metrics`. */
  | { sovr: "metrics"; id: number; text?: string; error?: string };

/** Whether `m` is one of ours (the channel also carries node's and other libraries' messages). */
export function isOurs<T extends { sovr: string }>(m: unknown): m is T {
  return typeof m === "object" && m !== null && typeof (m as { sovr?: unknown }).sovr === "string";
}
