import { readFileSync } from "node:fs";
import { availableParallelism, hostname } from "node:os";
import { resolve } from "node:path";
import { CONFIG_SCHEMA, type RawConfig, SECRET_CONFIG_KEYS } from "./config-schema.js";
import type { CatalogEnvPolicy } from "./env-allowlist.js";
import {
  type CertificateRule,
  IdentityConfigError,
  type OidcIssuerConfig,
  parseCertificateRules,
  parseOidcIssuers,
} from "./identity.js";
import type { RateLimitSettings, RequestLimits } from "./limits.js";
import { type TracePropagation, type TracingConfig, tracingConfig } from "./tracing-config.js";

/**
 * Every setting of `sovr serve`, from an optional JSON file (`SOVR_CONFIG`) overlaid by the
 * environment (the schema: config-schema.ts). Parsed once, frozen; a bad value fails start-up
 * naming the variable at fault. The README's configuration table lists the same variables.
 */
export { CONFIG_KEYS, CONFIG_SCHEMA, type RawConfig, SECRET_CONFIG_KEYS } from "./config-schema.js";

export interface Config {
  readonly host: string;
  /** "off" accepts every call as the default tenant's client: for local experiments only. */
  readonly auth: "on" | "off";
  readonly grpcPort: number;
  readonly httpPort: number;
  readonly dataDir: string;
  readonly databaseUrl: string | undefined;
  readonly catalogDir: string;
  readonly catalogWatch: boolean;
  readonly policy: {
    readonly bundlePath: string;
    readonly bundleUrl: string | undefined;
    readonly verificationKeyFile: string | undefined;
    readonly verificationAlgorithm: RawConfig["SOVR_POLICY_VERIFICATION_ALG"];
    readonly poolSize: number;
    readonly timeoutMs: number;
    /** Decisions cached per time-independent bundle (0: none). */
    readonly decisionCache: number;
  };
  readonly simulator: {
    readonly enabled: boolean;
    readonly port: number;
    readonly ttftMs: number;
    readonly tokensPerSecond: number;
    readonly completionTokens: number;
  };
  readonly keysDir: string;
  readonly instance: string;
  readonly drainMs: number;
  /** Processes serving the ports (`SOVR_WORKERS`, src/app/cluster); 1: this one. */
  readonly workers: number;
  /** Bound of an audit commit wait (then Unavailable) and of each storage readiness check. */
  readonly storageTimeoutMs: number;
  /** Embedded PGlite's shared_buffers in MiB (unused with DATABASE_URL). */
  readonly pgliteSharedBuffersMiB: number;
  /** V8's heap growing factor in percent (app/heap-growth.ts); 0: V8's own. */
  readonly heapGrowingPercent: number;
  readonly logLevel: RawConfig["SOVR_LOG_LEVEL"];
  /** Log lines as JSON, or pretty for people; `auto`: pretty on a terminal (telemetry/logger.ts). */
  readonly logFormat: "auto" | "json" | "pretty";
  /** OpenTelemetry traces (the standard OTEL_* variables); undefined: off, no SDK loaded. */
  readonly tracing: TracingConfig | undefined;
  /** Which upstreams receive `traceparent`: local ones (default), all, or none. */
  readonly tracePropagation: TracePropagation;
  readonly audit: {
    readonly batchDelayMs: number;
    readonly batchMax: number;
    /**
     * SOVR_AUDIT_JOURNAL: the log appends through the embedded database's journal
     * (src/audit/journal.ts); `auto` (the default): where it can, the embedded database on disk
     * with one log shard (src/app/audit.ts `embeddedJournal`).
     */
    readonly journal: "auto" | "on" | "off";
    readonly checkpointEvery: number;
    readonly checkpointIntervalMs: number;
    readonly checkpointOrigin: string;
    /** Log shards (docs/audit.md §10) and the raw SOVR_LOG_SHARD_MAP (parsed by src/app/audit.ts). */
    readonly shards: number;
    readonly shardMap: string;
    /** Witnesses each checkpoint is offered to; their cosignatures are stored and served. */
    readonly witnesses: readonly { readonly name: string; readonly url: string; readonly vkey: string }[];
  };
  readonly upstream: {
    readonly connectTimeoutMs: number;
    readonly firstTokenTimeoutMs: number;
    readonly idleTimeoutMs: number;
  };
  /** Probing of local runtimes (routing/local-prober.ts); `intervalMs` 0 = off. */
  readonly localProbe: { readonly intervalMs: number; readonly timeoutMs: number };
  /** Budgets (docs/budgets.md): how often the tenants that have any are re-read. */
  readonly budgets: { readonly refreshMs: number };
  /** BYOK key encryption; without a master key, BYOK keys can be neither set nor used. */
  readonly byok: { readonly masterKey: string | undefined; readonly masterKeyFile: string | undefined };
  /**
   * TLS (and, with `caFile`, mTLS) on the gRPC port; undefined = HTTP/2 cleartext. `clientCert`:
   * "optional" lets a caller without a certificate in (it then needs a bearer credential).
   */
  readonly tls:
    | {
        readonly certFile: string;
        readonly keyFile: string;
        readonly caFile: string | undefined;
        readonly clientCert: "required" | "optional";
      }
    | undefined;
  /** TLS on the HTTP/1.1 port (SOVR_HTTP_TLS=on): the same certificate, its own client CA. */
  readonly httpTls:
    | { readonly certFile: string; readonly keyFile: string; readonly caFile: string | undefined }
    | undefined;
  /** The TLS files' re-read interval besides change events (ms; 0 = events only). */
  readonly tlsReloadMs: number;
  /** Workload identity: accepted OIDC issuers and mTLS certificate rules (none: API keys only). */
  readonly identity: {
    readonly issuers: readonly OidcIssuerConfig[];
    readonly certificateRules: readonly CertificateRule[];
  };
  /** Rate and concurrency limits; a 0 switches that limit off. */
  readonly limits: RateLimitSettings;
  /** The environment variables a catalog may name (allow-lists; the hard deny comes first). */
  readonly catalogEnv: CatalogEnvPolicy;
  /** HTTP/2 port: SETTINGS_MAX_CONCURRENT_STREAMS and the rapid-reset bound (src/api/transport/h2-guard.ts). */
  readonly http2: { readonly maxConcurrentStreams: number; readonly maxResetsPerSecond: number };
  /** Routed calls in flight at once in this process (SOVR_MAX_IN_FLIGHT); 0 = unbounded. */
  readonly maxInFlight: number;
  /** Body and inline media limits of the HTTP API (src/config/limits.ts). */
  readonly requestLimits: RequestLimits;
  /** This deployment's country (ISO 3166-1 alpha-2, upper case), or undefined = unknown. */
  readonly location: string | undefined;
  /** Whether the local content detectors label requests (SOVR_CONTENT_DETECTORS). */
  readonly contentDetectors: boolean;
  /** In-process models (docs/catalog.md, "The local provider"). */
  readonly local: {
    readonly modelsDir: string;
    readonly threads: number;
    readonly slots: number;
    readonly queueMs: number;
  };
}

export class ConfigError extends Error {
  constructor(
    readonly key: string,
    message: string,
  ) {
    super(`config ${key}: ${message}`);
    this.name = "ConfigError";
  }
}

/**
 * Builds the frozen {@link Config} from `env` (default `process.env`) and, when `SOVR_CONFIG`
 * names a JSON file, that file's keys (same names as the variables); the environment wins.
 */
export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  let fromFile: Record<string, unknown> = {};
  if (env.SOVR_CONFIG) {
    try {
      fromFile = JSON.parse(readFileSync(env.SOVR_CONFIG, "utf8")) as Record<string, unknown>;
    } catch (err) {
      throw new ConfigError("SOVR_CONFIG", `cannot read ${env.SOVR_CONFIG}: ${(err as Error).message}`);
    }
  }
  const merged: Record<string, unknown> = { ...fromFile };
  for (const key of Object.keys(CONFIG_SCHEMA.shape)) {
    const v = env[key];
    if (v !== undefined && v !== "") merged[key] = v;
  }
  const parsed = CONFIG_SCHEMA.safeParse(merged);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new ConfigError(String(issue.path[0] ?? "?"), issue.message);
  }
  const c = parsed.data;
  if (c.SOVR_TLS_CERT && !c.SOVR_TLS_KEY)
    throw new ConfigError("SOVR_TLS_KEY", "required with SOVR_TLS_CERT");
  if (c.SOVR_TLS_KEY && !c.SOVR_TLS_CERT)
    throw new ConfigError("SOVR_TLS_CERT", "required with SOVR_TLS_KEY");
  if (c.SOVR_TLS_CA && !c.SOVR_TLS_CERT)
    throw new ConfigError("SOVR_TLS_CERT", "required with SOVR_TLS_CA (mTLS needs a server certificate)");
  if (c.SOVR_HTTP_TLS === "on" && !c.SOVR_TLS_CERT)
    throw new ConfigError("SOVR_TLS_CERT", "required with SOVR_HTTP_TLS=on (the HTTP port's certificate)");
  if (c.SOVR_HTTP_TLS_CA && c.SOVR_HTTP_TLS !== "on")
    throw new ConfigError("SOVR_HTTP_TLS", "must be on with SOVR_HTTP_TLS_CA (mTLS needs TLS)");
  if (c.SOVR_TLS_CLIENT_CERT === "optional" && !c.SOVR_TLS_CA)
    throw new ConfigError(
      "SOVR_TLS_CA",
      "required with SOVR_TLS_CLIENT_CERT=optional (which CA signs clients?)",
    );
  if (c.SOVR_MTLS_IDENTITIES && !c.SOVR_TLS_CA)
    throw new ConfigError("SOVR_TLS_CA", "required with SOVR_MTLS_IDENTITIES (which CA signs clients?)");
  if (c.SOVR_WORKERS > 1) checkWorkers(c);
  let identity: Config["identity"];
  try {
    identity = Object.freeze({
      issuers: parseOidcIssuers(c.SOVR_OIDC_ISSUERS),
      certificateRules: parseCertificateRules(c.SOVR_MTLS_IDENTITIES),
    });
  } catch (err) {
    if (err instanceof IdentityConfigError) throw new ConfigError(err.key, err.message);
    throw err;
  }
  const dataDir = resolve(c.SOVR_DATA_DIR);
  return Object.freeze({
    host: c.SOVR_HOST,
    auth: c.SOVR_AUTH,
    grpcPort: c.SOVR_GRPC_PORT,
    httpPort: c.SOVR_HTTP_PORT,
    dataDir,
    databaseUrl: c.DATABASE_URL,
    catalogDir: resolve(c.SOVR_CATALOG_DIR),
    catalogWatch: c.SOVR_CATALOG_WATCH,
    policy: Object.freeze({
      bundlePath: resolve(c.SOVR_POLICY_BUNDLE),
      bundleUrl: c.SOVR_POLICY_BUNDLE_URL,
      verificationKeyFile: c.SOVR_POLICY_VERIFICATION_KEY && resolve(c.SOVR_POLICY_VERIFICATION_KEY),
      verificationAlgorithm: c.SOVR_POLICY_VERIFICATION_ALG,
      poolSize: c.SOVR_POLICY_POOL_SIZE,
      timeoutMs: c.SOVR_POLICY_TIMEOUT_MS,
      decisionCache: c.SOVR_POLICY_DECISION_CACHE,
    }),
    simulator: Object.freeze({
      enabled: c.SOVR_SIMULATOR,
      port: c.SOVR_SIMULATOR_PORT,
      ttftMs: c.SOVR_SIMULATOR_TTFT_MS,
      tokensPerSecond: c.SOVR_SIMULATOR_TOKENS_PER_SECOND,
      completionTokens: c.SOVR_SIMULATOR_TOKENS,
    }),
    keysDir: resolve(c.SOVR_KEYS_DIR ?? `${dataDir}/keys`),
    instance: c.SOVR_INSTANCE ?? `${hostname()}-${process.pid}`,
    drainMs: c.SOVR_DRAIN_MS,
    workers: c.SOVR_WORKERS,
    storageTimeoutMs: c.SOVR_STORAGE_TIMEOUT_MS,
    pgliteSharedBuffersMiB: c.SOVR_PGLITE_SHARED_BUFFERS_MB,
    heapGrowingPercent: c.SOVR_HEAP_GROWING_PERCENT,
    logLevel: c.SOVR_LOG_LEVEL,
    logFormat: c.SOVR_LOG_FORMAT,
    tracing: tracingConfig(env),
    tracePropagation: c.SOVR_TRACE_PROPAGATE_UPSTREAM,
    audit: Object.freeze({
      batchDelayMs: c.SOVR_AUDIT_BATCH_DELAY_MS,
      batchMax: c.SOVR_AUDIT_BATCH_MAX,
      journal: c.SOVR_AUDIT_JOURNAL,
      checkpointEvery: c.SOVR_CHECKPOINT_EVERY,
      checkpointIntervalMs: c.SOVR_CHECKPOINT_INTERVAL_MS,
      checkpointOrigin: c.SOVR_CHECKPOINT_ORIGIN,
      shards: c.SOVR_LOG_SHARDS,
      shardMap: c.SOVR_LOG_SHARD_MAP,
      witnesses: Object.freeze(c.SOVR_WITNESSES.map((w) => Object.freeze({ ...w }))),
    }),
    upstream: Object.freeze({
      connectTimeoutMs: c.SOVR_CONNECT_TIMEOUT_MS,
      firstTokenTimeoutMs: c.SOVR_FIRST_TOKEN_TIMEOUT_MS,
      idleTimeoutMs: c.SOVR_IDLE_TIMEOUT_MS,
    }),
    localProbe: Object.freeze({
      intervalMs: c.SOVR_LOCAL_PROBE_MS,
      timeoutMs: c.SOVR_LOCAL_PROBE_TIMEOUT_MS,
    }),
    budgets: Object.freeze({ refreshMs: c.SOVR_BUDGET_REFRESH_MS }),
    byok: Object.freeze({
      masterKey: c.SOVR_MASTER_KEY,
      masterKeyFile: c.SOVR_MASTER_KEY_FILE && resolve(c.SOVR_MASTER_KEY_FILE),
    }),
    tls:
      c.SOVR_TLS_CERT && c.SOVR_TLS_KEY
        ? Object.freeze({
            certFile: resolve(c.SOVR_TLS_CERT),
            keyFile: resolve(c.SOVR_TLS_KEY),
            caFile: c.SOVR_TLS_CA && resolve(c.SOVR_TLS_CA),
            clientCert: c.SOVR_TLS_CLIENT_CERT,
          })
        : undefined,
    httpTls:
      c.SOVR_HTTP_TLS === "on" && c.SOVR_TLS_CERT && c.SOVR_TLS_KEY
        ? Object.freeze({
            certFile: resolve(c.SOVR_TLS_CERT),
            keyFile: resolve(c.SOVR_TLS_KEY),
            caFile: c.SOVR_HTTP_TLS_CA && resolve(c.SOVR_HTTP_TLS_CA),
          })
        : undefined,
    tlsReloadMs: c.SOVR_TLS_RELOAD_MS,
    identity,
    // A burst of 0 means "the default": two seconds' worth of requests, at least one.
    limits: Object.freeze({
      keyRps: c.SOVR_RATE_LIMIT_RPS,
      keyBurst: c.SOVR_RATE_LIMIT_BURST || Math.max(1, Math.ceil(2 * c.SOVR_RATE_LIMIT_RPS)),
      tenantRps: c.SOVR_TENANT_RATE_LIMIT_RPS,
      tenantBurst: c.SOVR_TENANT_RATE_LIMIT_BURST || Math.max(1, Math.ceil(2 * c.SOVR_TENANT_RATE_LIMIT_RPS)),
      maxConcurrentPerKey: c.SOVR_MAX_CONCURRENT_PER_KEY,
      maxConcurrentPerTenant: c.SOVR_MAX_CONCURRENT_PER_TENANT,
      keyTpm: c.SOVR_TOKEN_LIMIT_TPM,
      tenantTpm: c.SOVR_TENANT_TOKEN_LIMIT_TPM,
      defaultMaxTokens: c.SOVR_TOKEN_LIMIT_DEFAULT_MAX_TOKENS,
      scope: c.SOVR_RATE_LIMIT_SCOPE,
      windowMs: c.SOVR_RATE_LIMIT_WINDOW_MS,
      leasePercent: c.SOVR_RATE_LIMIT_LEASE_PERCENT,
    }),
    catalogEnv: Object.freeze({
      urlVars: new Set(c.SOVR_CATALOG_URL_VARS),
      keyVars: new Set(c.SOVR_PROVIDER_KEY_VARS),
      secretVars: new Set(SECRET_CONFIG_KEYS),
    }),
    http2: Object.freeze({
      maxConcurrentStreams: c.SOVR_H2_MAX_CONCURRENT_STREAMS,
      maxResetsPerSecond: c.SOVR_H2_MAX_RESETS_PER_SECOND,
    }),
    maxInFlight: c.SOVR_MAX_IN_FLIGHT,
    requestLimits: Object.freeze({
      requestBytes: c.SOVR_MAX_REQUEST_BYTES,
      imageBytes: c.SOVR_MAX_IMAGE_BYTES,
      audioBytes: c.SOVR_MAX_AUDIO_BYTES,
      fileBytes: c.SOVR_MAX_FILE_BYTES,
    }),
    location: c.SOVR_LOCATION,
    contentDetectors: c.SOVR_CONTENT_DETECTORS === "on",
    local: Object.freeze({
      modelsDir: resolve(c.SOVR_MODELS_DIR ?? `${dataDir}/models`),
      threads: c.SOVR_LOCAL_THREADS ?? Math.max(1, availableParallelism() - 1),
      slots: c.SOVR_LOCAL_SLOTS,
      queueMs: c.SOVR_LOCAL_QUEUE_MS,
    }),
  });
}

/**
 * Several workers share what one process would hold alone: the database (so not PGlite, one
 * process's), and every limit — so only limits counted through the database (the `cluster`
 * scope). A per-process count would multiply by the workers without a word.
 */
function checkWorkers(c: RawConfig): void {
  const why = `with SOVR_WORKERS=${c.SOVR_WORKERS}`;
  if (!c.DATABASE_URL)
    throw new ConfigError(
      "DATABASE_URL",
      `required ${why}: the embedded database (PGlite) serves one process`,
    );
  for (const key of [
    "SOVR_RATE_LIMIT_RPS",
    "SOVR_TENANT_RATE_LIMIT_RPS",
    "SOVR_TOKEN_LIMIT_TPM",
    "SOVR_TENANT_TOKEN_LIMIT_TPM",
  ] as const) {
    if (c[key] > 0 && c.SOVR_RATE_LIMIT_SCOPE !== "cluster")
      throw new ConfigError(
        "SOVR_RATE_LIMIT_SCOPE",
        `must be cluster ${why} and ${key} set: in the replica scope each worker counts alone, multiplying the limit by ${c.SOVR_WORKERS}`,
      );
  }
  for (const key of ["SOVR_MAX_CONCURRENT_PER_KEY", "SOVR_MAX_CONCURRENT_PER_TENANT"] as const) {
    if (c[key] > 0)
      throw new ConfigError(
        key,
        `not available ${why}: calls in flight are counted per process, so each worker would allow the limit`,
      );
  }
}
