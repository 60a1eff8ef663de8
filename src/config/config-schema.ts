import { z } from "zod";
import { DEFAULT_KEY_VARS, DEFAULT_URL_VARS } from "./env-allowlist.js";
import { DEFAULT_REQUEST_LIMITS } from "./limits.js";

/**
 * The schema of every setting of `sovr serve` (environment variables, or the same keys in the
 * `SOVR_CONFIG` JSON file): types, bounds and defaults. `loadConfig` (config.ts) parses it into
 * the frozen `Config`; `sovr serve --help` (config-help.ts) prints it.
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

export const CONFIG_SCHEMA = z.object({
  SOVR_HOST: z.string().min(1).default("127.0.0.1"),
  SOVR_AUTH: z.enum(["on", "off"]).default("on"),
  SOVR_GRPC_PORT: port.default(50051),
  SOVR_HTTP_PORT: port.default(8080),
  SOVR_DATA_DIR: z.string().min(1).default("./data"),
  DATABASE_URL: z.string().url().optional(),
  /** The embedded database's shared_buffers (docs/operations.md, "Memory"). */
  SOVR_PGLITE_SHARED_BUFFERS_MB: positiveInt.max(4096).default(16),
  /** V8's heap growing factor, percent past the live heap (docs/operations.md, "Memory"); 0: V8's own. */
  SOVR_HEAP_GROWING_PERCENT: z.coerce.number().int().min(0).max(300).default(50),
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
  SOVR_POLICY_DECISION_CACHE: z.coerce.number().int().min(0).max(1_000_000).default(1024),
  SOVR_SIMULATOR: bool.default(true),
  SOVR_SIMULATOR_PORT: port.default(8089),
  SOVR_SIMULATOR_TTFT_MS: z.coerce.number().int().min(0).default(0),
  SOVR_SIMULATOR_TOKENS_PER_SECOND: z.coerce.number().min(0).default(0),
  SOVR_SIMULATOR_TOKENS: positiveInt.default(16),
  SOVR_KEYS_DIR: z.string().min(1).optional(),
  SOVR_INSTANCE: z.string().min(1).optional(),
  SOVR_DRAIN_MS: positiveInt.default(10_000),
  /** Processes serving the ports (node:cluster); above 1 needs Postgres (src/app/cluster). */
  SOVR_WORKERS: positiveInt.max(64).default(1),
  /** Longest a request waits for its decision record's commit, and a readiness check for storage. */
  SOVR_STORAGE_TIMEOUT_MS: positiveInt.default(5000),
  SOVR_LOG_LEVEL: z.enum(["trace", "debug", "info", "warn", "error", "fatal", "silent"]).default("info"),
  SOVR_LOG_FORMAT: z.enum(["auto", "json", "pretty"]).default("auto"),
  SOVR_TRACE_PROPAGATE_UPSTREAM: z.enum(["local", "all", "none"]).default("local"),
  SOVR_AUDIT_BATCH_DELAY_MS: z.coerce.number().min(0).max(1000).default(0),
  SOVR_AUDIT_BATCH_MAX: positiveInt.default(512),
  SOVR_AUDIT_JOURNAL: z.enum(["auto", "on", "off"]).default("auto"),
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
  /**
   * Routed calls in flight at once per process, both APIs (src/api/transport/admission.ts);
   * over it a call is refused at once (503 / UNAVAILABLE); 0 = unbounded. The default is what
   * two cores sustain (~500 routed calls/s) × a 2 s latency budget, rounded (docs/operations.md).
   */
  SOVR_MAX_IN_FLIGHT: z.coerce.number().int().min(0).default(1024),
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

export type RawConfig = z.infer<typeof CONFIG_SCHEMA>;

/** The variables `loadConfig` reads, for the README table and `sovr serve --help`. */
export const CONFIG_KEYS: readonly string[] = Object.keys(CONFIG_SCHEMA.shape);
