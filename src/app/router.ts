import { tokenLimiter } from "../api/index.js";
import type { AuditLog, Checkpointer } from "../audit/index.js";
import type { ByokStore } from "../auth/index.js";
import type { BudgetStore } from "../budget/index.js";
import type { EndpointStatsTracker, LiveCatalog } from "../catalog/index.js";
import { type Config, providerKeyEnv } from "../config/index.js";
import type { DatabaseHandle } from "../db/index.js";
import { DETECTOR_VERSION, findSpans } from "../detect/index.js";
import {
  AuditRecorder,
  type ContentDetector,
  durableRecorder,
  HealthTracker,
  type LocalProber,
  Router,
  type RouterDeps,
  TokenLimitedRouter,
} from "../routing/index.js";
import type { Logger, Metrics, Tracing } from "../telemetry/index.js";
import {
  AnthropicAdapter,
  type LocalAdapter,
  OpenAICompatibleAdapter,
  type PoolSet,
} from "../upstream/index.js";
import type { RunningPolicy } from "./policy.js";
import { tracedRouterDeps, withTracing } from "./tracing.js";

export interface RouterParts {
  config: Config;
  env: Record<string, string | undefined>;
  db: DatabaseHandle;
  catalog: LiveCatalog;
  policy: RunningPolicy;
  audit: AuditLog;
  checkpointer: Checkpointer;
  /** One per log shard, by shard (`checkpointer` is shard 0's). */
  checkpointers: readonly Checkpointer[];
  byok: ByokStore;
  pools: PoolSet;
  /** The in-process adapter of `api: local` endpoints (the models directory). */
  local: LocalAdapter;
  stats: EndpointStatsTracker;
  logger: Logger;
  metrics: Metrics;
  /** Content labels and the redact obligation; none: content rules fail closed. */
  detector: ContentDetector | undefined;
  /** Probed local runtimes: an unreachable one is excluded before any attempt. */
  prober: LocalProber;
  /** Traces (OpenTelemetry); off: the plain router, nothing wrapped. */
  tracing: Tracing;
  /** Which tenants have budgets: their requests take a reservation. */
  budgets: BudgetStore;
}

/** The router, wired to the policy, the durable audit recorder, the adapters and the metrics. */
export function buildRouter(p: RouterParts): Router {
  const { metrics } = p;
  // No routing over a log the checkpointer no longer vouches for (a fork, an altered row).
  // Each decision record durable gives the caller its receipt (docs/audit.md §9).
  const recorder = new AuditRecorder(p.audit, {
    fault: () => auditFault(p.checkpointers, p.audit),
    // A sharded log's receipt names the record's shard by its origin (`<origin>/shard-<k>`).
    origin: p.checkpointers.length === 1 ? p.checkpointer.origin : (k) => p.checkpointers[k]!.origin,
  });
  const deps: RouterDeps = {
    catalog: p.catalog,
    policy: { evaluate: (input) => p.policy.engine.evaluate(input), activeBundle: p.policy.activeBundle },
    recorder: durableRecorder(recorder, {
      storageRefusal: () => p.db.storage?.refusal(),
      logger: p.logger,
      metrics,
    }),
    adapters: {
      openai: new OpenAICompatibleAdapter(p.pools),
      anthropic: new AnthropicAdapter(p.pools),
      local: p.local,
    },
    byok: p.byok,
    budgets: p.budgets,
    observer: {
      policyEvaluated: (us) => metrics.policyEvalSeconds.observe(us / 1e6),
      attempt: (endpoint, result) => metrics.upstreamAttempts.inc({ endpoint, result }),
      finished: (outcome, seconds) => {
        metrics.requests.inc({ outcome });
        metrics.requestSeconds.observe(seconds);
      },
    },
    health: new HealthTracker(),
    ...(p.detector ? { detector: p.detector } : {}),
    reachability: (id) => p.prober.reachability(id),
    stats: p.stats,
    instance: p.config.instance,
    timeouts: p.config.upstream,
    // Only the allow-listed provider keys: a catalog cannot make the router read anything else.
    env: providerKeyEnv(p.env, p.config.catalogEnv),
  };
  // With tracing on, the policy, recorder and adapters report spans, and the router's stream one.
  const traced = p.tracing.enabled;
  const d = traced ? tracedRouterDeps(deps, p.tracing, p.config.tracePropagation) : deps;
  // Token limits (SOVR_*TOKEN_LIMIT_TPM) are charged where every surface passes: the router.
  const tokens = tokenLimiter(p.config.limits, p.db);
  if (tokens) {
    const Limited = traced ? withTracing(TokenLimitedRouter, p.tracing) : TokenLimitedRouter;
    return new Limited(d, tokens, p.config.limits.defaultMaxTokens ?? 1024);
  }
  return new (traced ? withTracing(Router, p.tracing) : Router)(d);
}

/**
 * The local detectors (src/detect) unless a caller brings its own (`StartOptions.detector`), or
 * none: `null`, or SOVR_CONTENT_DETECTORS=off (rules that need labels then fail closed).
 */
export function contentDetector(
  config: Config,
  own: ContentDetector | null | undefined,
): ContentDetector | undefined {
  if (own === null || (own === undefined && !config.contentDetectors)) return undefined;
  return own ?? { version: DETECTOR_VERSION, findSpans };
}

/**
 * Why the log can no longer be vouched for, if it cannot: some shard's checkpointer stopped
 * signing, or the embedded database's journal found the database is not the log it continues.
 * Then nothing is routed.
 */
export function auditFault(checkpointers: readonly Checkpointer[], audit: AuditLog): Error | undefined {
  for (const c of checkpointers) if (c.fault) return c.fault;
  return audit.fault;
}
