import type { RunningServers, TlsReloader } from "../api/index.js";
import type { AuditLog, Checkpointer, WitnessClient } from "../audit/index.js";
import type { Authenticator, ByokAdmin, ByokStore } from "../auth/index.js";
import type { BudgetStore } from "../budget/index.js";
import type { LiveCatalog } from "../catalog/index.js";
import type { Config } from "../config/index.js";
import type { DatabaseHandle } from "../db/index.js";
import type { BundleSource, PolicyEngine } from "../policy/index.js";
import type { ContentDetector, LocalProber, Router } from "../routing/index.js";
import type { Simulator } from "../simulator/index.js";
import type { Logger, Metrics } from "../telemetry/index.js";
import type { WorkerLink } from "./cluster/index.js";
import type { KeyExpiryTrail } from "./key-expiry-trail.js";

/** A running `sovr serve`: its parts (tests reach into them) and how to stop it. */
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
  /** One per log shard, by shard (SOVR_LOG_SHARDS; `checkpointer` is shard 0's). */
  readonly checkpointers: readonly Checkpointer[];
  /** Offers checkpoints to the witnesses (SOVR_WITNESSES); undefined without any. */
  readonly witnesses: WitnessClient | undefined;
  readonly router: Router;
  /** Probed local runtimes (SOVR_LOCAL_PROBE_MS); `probeAll()` probes now. */
  readonly prober: LocalProber;
  readonly auth: Authenticator;
  /** Tenants' own provider keys (BYOK), encrypted under SOVR_MASTER_KEY. */
  readonly byok: ByokStore;
  /** The BYOK rules every surface shares (tenant check, origins from the live catalog). */
  readonly byokAdmin: ByokAdmin;
  /** Budgets per tenant and key (docs/budgets.md). */
  readonly budgets: BudgetStore;
  readonly simulator: Simulator | undefined;
  readonly servers: RunningServers;
  /** Certificate renewal of the TLS ports (SOVR_TLS_*); undefined without TLS. */
  readonly tlsReload: TlsReloader | undefined;
  /** Writes `key.expire` admin records for keys whose expiry passed; `sweep()` runs it now. */
  readonly keyExpiries: KeyExpiryTrail;
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
  /**
   * The content detector (issue 16) whose labels the policy and the record get and with which
   * the redact obligation masks: `null` for none (rules on content then fail closed);
   * undefined for the default.
   */
  detector?: ContentDetector | null;
  /** This process is one of `sovr serve`'s cluster workers (SOVR_WORKERS > 1): its link to the primary. */
  cluster?: WorkerLink;
}
