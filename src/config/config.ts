import { readFileSync } from "node:fs";
import { availableParallelism, hostname } from "node:os";
import { resolve } from "node:path";
import { z } from "zod";
import { type CatalogEnvPolicy, DEFAULT_KEY_VARS, DEFAULT_URL_VARS } from "./env-allowlist.js";
import {
  type CertificateRule,
  IdentityConfigError,
  type OidcIssuerConfig,
  parseCertificateRules,
  parseOidcIssuers,
} from "./identity.js";
import { DEFAULT_REQUEST_LIMITS, type RateLimitSettings, type RequestLimits } from "./limits.js";
import { type TracePropagation, type TracingConfig, tracingConfig } from "./tracing-config.js";

/**
 * Every setting of `sovr serve`, from an optional JSON file (`SOVR_CONFIG`) overlaid by the
 * environment. Parsed once, frozen; a bad value fails start-up naming the variable at fault.
 * The README's configuration table lists the same variables and defaults.
 */
const port = z.coerce.number().int().min(0).max(65535);
const positiveInt = z.coerce.number().int().positive();
const bool = z
  .union([z.boolean(), z.enum(["true", "false", "1", "0", "on", "off", "yes", "no"])])
  .transform((v) => v === true || v === "true" || v === "1" || v === "on" || v === "yes");

/** A comma-separated list of environment variable names. */
const varList = z
  .string()
  .transform((v) =>
    v
      .split(",")
      .map((x) => x.trim())
      .filter((x) => x !== ""),
  )
  .pipe(z.array(z.string().regex(/^[A-Z_][A-Z0-9_]*$/, { error: "must list variable names (A-Z, 0-9, _)" })));

const schema = z.object({
  SOVR_HOST: z.string().min(1).default("127.0.0.1"),
  SOVR_AUTH: z.enum(["on", "off"]).default("on"),
  SOVR_GRPC_PORT: port.default(50051),
  SOVR_HTTP_PORT: port.default(8080),
  SOVR_DATA_DIR: z.string().min(1).default("./data"),
  DATABASE_URL: z.string().url().optional(),
  SOVR_CATALOG_DIR: z.string().min(1).default("./catalog"),
  SOVR_CATALOG_WATCH: bool.default(true),
  SOVR_POLICY_BUNDLE: z.string().min(1).default("./policies/dist/bundle.tar.gz"),
  SOVR_POLICY_BUNDLE_URL: z.string().url().optional(),
  SOVR_POLICY_VERIFICATION_KEY: z.string().min(1).optional(),
  SOVR_POLICY_VERIFICATION_ALG: z
    .enum(["EdDSA", "ES256", "ES384", "ES512", "RS256", "RS384", "RS512", "PS256", "PS384", "PS512"])
    .default("EdDSA"),
  SOVR_POLICY_POOL_SIZE: positiveInt.max(64).default(2),
  SOVR_POLICY_TIMEOUT_MS: positiveInt.default(50),
  SOVR_SIMULATOR: bool.default(true),
  SOVR_SIMULATOR_PORT: port.default(8089),
  SOVR_SIMULATOR_TTFT_MS: z.coerce.number().int().min(0).default(0),
  SOVR_SIMULATOR_TOKENS_PER_SECOND: z.coerce.number().min(0).default(0),
  SOVR_SIMULATOR_TOKENS: positiveInt.default(16),
  SOVR_KEYS_DIR: z.string().min(1).optional(),
  SOVR_INSTANCE: z.string().min(1).optional(),
  SOVR_DRAIN_MS: positiveInt.default(10_000),
  /** Longest a request waits for its decision record's commit, and a readiness check for storage. */
  SOVR_STORAGE_TIMEOUT_MS: positiveInt.default(5000),
  SOVR_LOG_LEVEL: z.enum(["trace", "debug", "info", "warn", "error", "fatal", "silent"]).default("info"),
  SOVR_LOG_FORMAT: z.enum(["auto", "json", "pretty"]).default("auto"),
  SOVR_TRACE_PROPAGATE_UPSTREAM: z.enum(["local", "all", "none"]).default("local"),
  SOVR_AUDIT_BATCH_DELAY_MS: z.coerce.number().min(0).max(1000).default(0),
  SOVR_AUDIT_BATCH_MAX: positiveInt.default(512),
  SOVR_CHECKPOINT_EVERY: positiveInt.default(1000),
  SOVR_CHECKPOINT_INTERVAL_MS: positiveInt.default(5000),
  SOVR_CHECKPOINT_ORIGIN: z.string().min(1).default("sovereign-router.local/audit"),
  /** Log shards (docs/audit.md §10): 1 = one log, as always; fixed once the log holds records. */
  SOVR_LOG_SHARDS: positiveInt.max(64).default(1),
  /** Tenants pinned to a shard: `tenant=shard,…` (others go by a hash of the tenant). */
  SOVR_LOG_SHARD_MAP: z.string().default(""),
  /** tlog-witnesses offered each checkpoint (docs/audit.md §6.1): a JSON list of {name, url, vkey}. */
  SOVR_WITNESSES: z
    .string()
    .default("[]")
    .transform((s, ctx) => {
      try {
        return JSON.parse(s) as unknown;
      } catch {
        ctx.addIssue({ code: "custom", message: "not JSON: expected a list of {name, url, vkey}" });
        return z.NEVER;
      }
    })
    .pipe(
      z.array(z.object({ name: z.string().min(1), url: z.string().url(), vkey: z.string().min(1) }).strict()),
    ),
  SOVR_CONNECT_TIMEOUT_MS: positiveInt.default(5000),
  SOVR_FIRST_TOKEN_TIMEOUT_MS: positiveInt.default(30_000),
  SOVR_IDLE_TIMEOUT_MS: positiveInt.default(30_000),
  /** How often local OpenAI-compatible runtimes are probed (ms); 0 = never (none excluded). */
  SOVR_LOCAL_PROBE_MS: z.coerce.number().int().min(0).default(10_000),
  /** How long one probe may take before the runtime counts as unreachable. */
  SOVR_LOCAL_PROBE_TIMEOUT_MS: positiveInt.default(2000),
  /** How often the tenants with budgets are re-read (a budget set on another replica applies within it). */
  SOVR_BUDGET_REFRESH_MS: positiveInt.default(1000),
  /** BYOK master key (32 bytes, hex or base64), or a file holding it. */
  SOVR_MASTER_KEY: z.string().min(1).optional(),
  SOVR_MASTER_KEY_FILE: z.string().min(1).optional(),
  /** TLS on the gRPC port (PEM files); with a CA bundle, client certificates are required. */
  SOVR_TLS_CERT: z.string().min(1).optional(),
  SOVR_TLS_KEY: z.string().min(1).optional(),
  SOVR_TLS_CA: z.string().min(1).optional(),
  /** "on": the HTTP/1.1 port serves HTTPS with SOVR_TLS_CERT/KEY too (docs/security.md §5). */
  SOVR_HTTP_TLS: z.enum(["on", "off"]).default("off"),
  /** With SOVR_HTTP_TLS=on: require client certificates from this CA on the HTTP port (mTLS). */
  SOVR_HTTP_TLS_CA: z.string().min(1).optional(),
  /** How often the TLS files are re-read besides file-change events (ms); 0 = events only. */
  SOVR_TLS_RELOAD_MS: z.coerce.number().int().min(0).default(30_000),
  /** With SOVR_TLS_CA: must every client present a certificate, or may it use a bearer instead? */
  SOVR_TLS_CLIENT_CERT: z.enum(["required", "optional"]).default("required"),
  /** Workload identity (src/config/identity.ts): JSON, or a JSON/YAML file path. */
  SOVR_OIDC_ISSUERS: z.string().optional(),
  SOVR_MTLS_IDENTITIES: z.string().optional(),
  /** Token buckets per API key and per tenant (requests/second, burst); 0 = no limit. */
  SOVR_RATE_LIMIT_RPS: z.coerce.number().min(0).default(0),
  SOVR_RATE_LIMIT_BURST: z.coerce.number().int().min(0).default(0),
  SOVR_TENANT_RATE_LIMIT_RPS: z.coerce.number().min(0).default(0),
  SOVR_TENANT_RATE_LIMIT_BURST: z.coerce.number().int().min(0).default(0),
  /** Calls in flight at once per API key and per tenant; 0 = no limit. */
  SOVR_MAX_CONCURRENT_PER_KEY: z.coerce.number().int().min(0).default(0),
  SOVR_MAX_CONCURRENT_PER_TENANT: z.coerce.number().int().min(0).default(0),
  /** Tokens (input + output) per minute per API key and per tenant; 0 = no limit. */
  SOVR_TOKEN_LIMIT_TPM: z.coerce.number().int().min(0).default(0),
  SOVR_TENANT_TOKEN_LIMIT_TPM: z.coerce.number().int().min(0).default(0),
  /** The output tokens a call is estimated at when it sets no max_tokens (corrected after). */
  SOVR_TOKEN_LIMIT_DEFAULT_MAX_TOKENS: positiveInt.default(1024),
  /** replica: limits count per process; cluster: shared through the database (docs/security.md). */
  SOVR_RATE_LIMIT_SCOPE: z.enum(["replica", "cluster"]).default("replica"),
  /** Cluster scope: the window the shared counts cover, and the share of it a replica leases at once. */
  SOVR_RATE_LIMIT_WINDOW_MS: positiveInt.default(60_000),
  SOVR_RATE_LIMIT_LEASE_PERCENT: z.coerce.number().int().min(1).max(100).default(5),
  /**
   * What a catalog may name (issue 11): `${VAR}` in base_url (non-secret URL parts only) and
   * `api_key_env` (shared provider keys). Server secrets stay refused whatever is listed here.
   */
  SOVR_CATALOG_URL_VARS: varList.default([...DEFAULT_URL_VARS]),
  SOVR_PROVIDER_KEY_VARS: varList.default([...DEFAULT_KEY_VARS]),
  /** HTTP/2 port: streams open at once per connection; stream resets per second per connection. */
  SOVR_H2_MAX_CONCURRENT_STREAMS: positiveInt.default(100),
  SOVR_H2_MAX_RESETS_PER_SECOND: positiveInt.default(100),
  /** The OpenAI-compatible API's body limit and the inline media part limits (decoded bytes). */
  SOVR_MAX_REQUEST_BYTES: positiveInt.default(DEFAULT_REQUEST_LIMITS.requestBytes),
  SOVR_MAX_IMAGE_BYTES: positiveInt.default(DEFAULT_REQUEST_LIMITS.imageBytes),
  SOVR_MAX_AUDIO_BYTES: positiveInt.default(DEFAULT_REQUEST_LIMITS.audioBytes),
  SOVR_MAX_FILE_BYTES: positiveInt.default(DEFAULT_REQUEST_LIMITS.fileBytes),
  /**
   * Where this deployment runs: an ISO 3166-1 alpha-2 country (checked against the assigned
   * codes at start). The residency and headquarters of the local provider; unset = unknown.
   */
  SOVR_LOCATION: z
    .string()
    .regex(/^[A-Za-z]{2}$/, { error: "must be an ISO 3166-1 alpha-2 country code such as DE" })
    .transform((v) => v.toUpperCase())
    .optional(),
  /**
   * The local content detectors (src/detect): on by default. Off, requests carry no content
   * labels and every rule that depends on them fails closed (docs/policies.md).
   */
  SOVR_CONTENT_DETECTORS: z.enum(["on", "off"]).default("on"),
  /** GGUF models run in-process (`sovr models pull`); default `$SOVR_DATA_DIR/models`. */
  SOVR_MODELS_DIR: z.string().min(1).optional(),
  /** llama.cpp threads; default: every core but one, for the router (at least 1). */
  SOVR_LOCAL_THREADS: positiveInt.max(256).optional(),
  /** Concurrent sequences per local model. */
  SOVR_LOCAL_SLOTS: positiveInt.max(64).default(2),
  /** Longest a request waits for a free local slot before falling over (`local_saturated`). */
  SOVR_LOCAL_QUEUE_MS: z.coerce.number().int().min(0).default(2000),
});

/**
 * Variables holding secrets (or naming files that do): never logged, never named by a catalog.
 * src/config/env-allowlist.ts refuses these and every other `SOVR_*` but the simulator URL.
 */
export const SECRET_CONFIG_KEYS: readonly string[] = [
  "DATABASE_URL",
  "SOVR_MASTER_KEY",
  "SOVR_MASTER_KEY_FILE",
  "SOVR_KEYS_DIR",
  "SOVR_TLS_KEY",
  "SOVR_POLICY_BUNDLE_URL",
];

export type RawConfig = z.infer<typeof schema>;

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
  /** Bound of an audit commit wait (then Unavailable) and of each storage readiness check. */
  readonly storageTimeoutMs: number;
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
  for (const key of Object.keys(schema.shape)) {
    const v = env[key];
    if (v !== undefined && v !== "") merged[key] = v;
  }
  const parsed = schema.safeParse(merged);
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
    storageTimeoutMs: c.SOVR_STORAGE_TIMEOUT_MS,
    logLevel: c.SOVR_LOG_LEVEL,
    logFormat: c.SOVR_LOG_FORMAT,
    tracing: tracingConfig(env),
    tracePropagation: c.SOVR_TRACE_PROPAGATE_UPSTREAM,
    audit: Object.freeze({
      batchDelayMs: c.SOVR_AUDIT_BATCH_DELAY_MS,
      batchMax: c.SOVR_AUDIT_BATCH_MAX,
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

/** The variables `loadConfig` reads, for the README table and `sovr serve --help`. */
export const CONFIG_KEYS: readonly string[] = Object.keys(schema.shape);

/** The schema itself, for `sovr serve --help` (config-help.ts reads each default from it). */
export const CONFIG_SCHEMA = schema;
