import { Counter, collectDefaultMetrics, Gauge, Registry } from "prom-client";
import { HotCounter, HotHistogram } from "./hot-metric.js";

/**
 * Prometheus metrics of one server (its own registry, so tests can run several servers).
 * Labels are bounded sets: API, outcome, endpoint id, error class — never request data. What
 * every routed request updates is a hot metric (./hot-metric.ts); the rest is prom-client's.
 */
export class Metrics {
  readonly registry = new Registry();
  #exposition: () => Promise<string> = () => this.registry.metrics();
  readonly requests = new HotCounter({
    name: "sovr_requests_total",
    help: "Routed requests by outcome (success, failed, denied, error), both APIs.",
    labelNames: ["outcome"] as const,
    registers: [this.registry],
  });
  readonly requestSeconds = new HotHistogram({
    name: "sovr_request_duration_seconds",
    help: "Request latency through the router (to the end of the response), both APIs.",
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [this.registry],
  });
  readonly upstreamAttempts = new HotCounter({
    name: "sovr_upstream_attempts_total",
    help: "Upstream attempts by endpoint and result (ok or error class).",
    labelNames: ["endpoint", "result"] as const,
    registers: [this.registry],
  });
  readonly policyEvalSeconds = new HotHistogram({
    name: "sovr_policy_eval_seconds",
    help: "Policy evaluation time per request.",
    buckets: [0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.05],
    registers: [this.registry],
  });
  readonly policyBundleLoads = new Counter({
    name: "sovr_policy_bundle_loads_total",
    help: "Policy bundle load attempts by result (loaded, rejected).",
    labelNames: ["result"] as const,
    registers: [this.registry],
  });
  readonly auditBatchSize = new HotHistogram({
    name: "sovr_audit_batch_records",
    help: "Records per audit group commit.",
    buckets: [1, 2, 4, 8, 16, 32, 64, 128, 256, 512],
    registers: [this.registry],
  });
  readonly auditCommitSeconds = new HotHistogram({
    name: "sovr_audit_commit_seconds",
    help: "Duration of one audit group commit (transaction).",
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
    registers: [this.registry],
  });
  readonly auditFailures = new Counter({
    name: "sovr_audit_append_failures_total",
    help: "Records that could not be made durable (requests refused).",
    labelNames: ["kind"] as const,
    registers: [this.registry],
  });
  #inflight: () => number = () => 0;
  readonly inflight: Gauge = new Gauge({
    name: "sovr_inflight_requests",
    help: "Calls currently being served, both ports.",
    registers: [this.registry],
    collect: (): void => {
      this.inflight.set(this.#inflight());
    },
  });

  /** Where the in-flight gauge reads its value (the listening servers, once they exist). */
  countInflight(read: () => number): void {
    this.#inflight = read;
  }

  readonly overloadRefusals = new Counter({
    name: "sovr_overload_refusals_total",
    help: "Routed calls refused at once because SOVR_MAX_IN_FLIGHT were in flight, by API (grpc, http).",
    labelNames: ["api"] as const,
    registers: [this.registry],
  });

  readonly relayFailures = new Counter({
    name: "sovr_cluster_relay_failures_total",
    help: "Changes stored through this worker (SOVR_WORKERS) that not every other worker read again at once, by topic (byok, keys, budgets); they read them within their refresh interval.",
    labelNames: ["topic"] as const,
    registers: [this.registry],
  });

  readonly tableReadFailures = new Counter({
    name: "sovr_table_read_failures_total",
    help: "Failed re-reads of a table held in memory (api_keys: the key table; budgets: which tenants have budgets), by table and when (interval: the background re-read; change: right after a change made through this process, which is stored and taken by the next re-read).",
    labelNames: ["table", "when"] as const,
    registers: [this.registry],
  });

  readonly catalogRevisions = new Counter({
    name: "sovr_catalog_applies_total",
    help: "Catalog apply attempts by result (applied, unchanged, rejected).",
    labelNames: ["result"] as const,
    registers: [this.registry],
  });

  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: "sovr_process_" });
  }

  /** The text `/metrics` answers: this process's registry, unless {@link setExposition} said otherwise. */
  exposition(): Promise<string> {
    return this.#exposition();
  }

  /** Where `/metrics` reads from instead (a cluster worker: every worker's metrics, summed). */
  setExposition(exposition: () => Promise<string>): void {
    this.#exposition = exposition;
  }
}
