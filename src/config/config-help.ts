/**
 * The configuration as `sovr serve --help` prints it: every variable of the schema with its
 * default (read from the schema, so it cannot drift) and one line of meaning. The meanings are
 * a record over the schema's keys, so a new variable without one fails the type check; the
 * README's configuration table says the same at more length.
 */
import { CONFIG_SCHEMA } from "./config.js";

type Key = keyof typeof CONFIG_SCHEMA.shape;

const MEANING: Record<Key, string> = {
  SOVR_HOST: "address both ports listen on",
  SOVR_AUTH: "API-key auth; off makes every caller the default tenant's client (local experiments only)",
  SOVR_GRPC_PORT: "HTTP/2 port: gRPC, gRPC-Web, Connect (an HTTP/1.1 client gets 426 naming the HTTP port)",
  SOVR_HTTP_PORT:
    "HTTP/1.1 port: OpenAI-compatible API, Connect JSON, /healthz, /readyz, /metrics; the CLI's SOVR_URL",
  SOVR_DATA_DIR: "PGlite data and (by default) signing keys and models; must be private (0700)",
  DATABASE_URL: "PostgreSQL connection string (secret); unset = embedded PGlite in SOVR_DATA_DIR",
  SOVR_PGLITE_SHARED_BUFFERS_MB:
    "embedded PGlite's shared_buffers (MiB): its page cache, resident from start",
  SOVR_HEAP_GROWING_PERCENT:
    "how far (%) a V8 heap grows past its live objects before a full collection; 0: V8's own (up to 300)",
  SOVR_CATALOG_DIR: "provider catalog YAML, one file per provider",
  SOVR_CATALOG_WATCH: "re-apply the catalog when its files change",
  SOVR_POLICY_BUNDLE: "policy bundle file or directory (watched)",
  SOVR_POLICY_BUNDLE_URL: "OPA bundle server URL to poll (ETag) (secret)",
  SOVR_POLICY_VERIFICATION_KEY: "PEM public key; when set, unsigned or altered bundles are refused",
  SOVR_POLICY_VERIFICATION_ALG: "JWS algorithm of that key",
  SOVR_POLICY_POOL_SIZE: "opa-wasm instances per bundle",
  SOVR_POLICY_TIMEOUT_MS: "a policy evaluation slower than this fails the request closed",
  SOVR_POLICY_DECISION_CACHE:
    "decisions kept per bundle for bundles declared time-independent (same input, bundle and catalog); 0: off",
  SOVR_WORKERS:
    "processes serving the ports, sharing them (node:cluster; one per core uses them all); above 1 needs DATABASE_URL",
  SOVR_SIMULATOR: "start the built-in upstream simulator",
  SOVR_SIMULATOR_PORT: "the simulator's port (catalogs reach it as the variable SOVR_SIMULATOR_URL)",
  SOVR_SIMULATOR_TTFT_MS: "simulator delay before the first token",
  SOVR_SIMULATOR_TOKENS_PER_SECOND: "simulator pacing; 0 = as fast as possible",
  SOVR_SIMULATOR_TOKENS: "simulator completion length (chunks)",
  SOVR_KEYS_DIR: "record-signing keys (Ed25519 PEM), private directory (secret); default $SOVR_DATA_DIR/keys",
  SOVR_INSTANCE: "router instance name in records; default <hostname>-<pid>",
  SOVR_DRAIN_MS: "on SIGTERM, how long in-flight calls may finish before the flush and exit",
  SOVR_STORAGE_TIMEOUT_MS:
    "longest wait for a decision record's commit (then 503), and bound of /readyz storage checks",
  SOVR_LOG_LEVEL: "trace, debug, info, warn, error, fatal or silent",
  SOVR_AUDIT_BATCH_DELAY_MS: "group commit: longest a record waits for company when no commit is in flight",
  SOVR_AUDIT_BATCH_MAX: "group commit: records per transaction at most",
  SOVR_AUDIT_JOURNAL:
    "on: a record is durable once in the embedded database's journal, inserted into the database behind it; off: straight into the database; auto: on for the embedded database on disk with one log shard",
  SOVR_CHECKPOINT_EVERY: "sign a checkpoint every N records…",
  SOVR_CHECKPOINT_INTERVAL_MS: "…or every T ms",
  SOVR_CHECKPOINT_ORIGIN: "checkpoint origin line",
  SOVR_LOG_SHARDS: "split the audit log into N shards (1 = one log); fixed once the log holds records",
  SOVR_LOG_SHARD_MAP: "pin tenants to log shards: tenant=shard,… (others: by a hash of the tenant)",
  SOVR_WITNESSES: "tlog-witnesses offered each checkpoint, a JSON list of {name, url, vkey}; [] = none",
  SOVR_CONNECT_TIMEOUT_MS: "upstream connect timeout",
  SOVR_FIRST_TOKEN_TIMEOUT_MS: "upstream time to first token before failing over",
  SOVR_IDLE_TIMEOUT_MS: "upstream silence between chunks before giving up",
  SOVR_LOCAL_PROBE_MS: "how often local OpenAI-compatible runtimes are probed; 0 = never",
  SOVR_LOCAL_PROBE_TIMEOUT_MS: "bound of one probe before the runtime counts as unreachable",
  SOVR_MASTER_KEY: "BYOK master key, 32 bytes hex or base64 (secret); without it BYOK keys cannot be used",
  SOVR_MASTER_KEY_FILE: "a file holding the BYOK master key (secret)",
  SOVR_TLS_CERT: "PEM certificate (chain) for TLS on the gRPC port; needs SOVR_TLS_KEY",
  SOVR_TLS_KEY: "PEM private key of that certificate (secret)",
  SOVR_TLS_CA: "PEM CA bundle: client certificates are then required (mTLS)",
  SOVR_RATE_LIMIT_RPS: "requests per second per API key; 0 = off",
  SOVR_RATE_LIMIT_BURST: "bucket size per key; 0 = two seconds' worth",
  SOVR_TENANT_RATE_LIMIT_RPS: "requests per second per tenant; 0 = off",
  SOVR_TENANT_RATE_LIMIT_BURST: "bucket size per tenant; 0 = two seconds' worth",
  SOVR_MAX_CONCURRENT_PER_KEY: "calls in flight per API key; 0 = off",
  SOVR_MAX_CONCURRENT_PER_TENANT: "calls in flight per tenant; 0 = off",
  SOVR_CATALOG_URL_VARS:
    "variables a catalog base_url may read (as $VAR in braces; server secrets refused regardless)",
  SOVR_PROVIDER_KEY_VARS: "variables a catalog's api_key_env may name (server secrets refused regardless)",
  SOVR_H2_MAX_CONCURRENT_STREAMS: "gRPC port: streams open at once per connection",
  SOVR_H2_MAX_RESETS_PER_SECOND: "gRPC port: stream resets per second per connection before GOAWAY",
  SOVR_MAX_REQUEST_BYTES: "request size limit on every surface",
  SOVR_MAX_IN_FLIGHT:
    "routed calls in flight per process, both APIs; over it 503 / UNAVAILABLE; 0 = unbounded",
  SOVR_MAX_IMAGE_BYTES: "one inline image (decoded bytes)",
  SOVR_MAX_AUDIO_BYTES: "one input_audio part (decoded bytes)",
  SOVR_MAX_FILE_BYTES: "one file part, e.g. a PDF (decoded bytes)",
  SOVR_LOCATION:
    "ISO 3166-1 alpha-2 country of this deployment (the local provider's residency); unset = unknown",
  SOVR_CONTENT_DETECTORS:
    "local content detectors label requests for the policy; off: rules needing labels fail closed",
  SOVR_MODELS_DIR: "GGUF models of the local provider; default $SOVR_DATA_DIR/models",
  SOVR_LOCAL_THREADS: "llama.cpp threads for local models; default every core but one",
  SOVR_LOCAL_SLOTS: "concurrent sequences per local model",
  SOVR_LOCAL_QUEUE_MS: "longest wait for a free local slot before falling over (local_saturated)",
  SOVR_HTTP_TLS: "on: the HTTP port serves HTTPS with SOVR_TLS_CERT/KEY too",
  SOVR_HTTP_TLS_CA: "with SOVR_HTTP_TLS=on: client certificates from this CA required on the HTTP port",
  SOVR_TLS_RELOAD_MS: "re-read the TLS files this often besides change events (renewal); 0 = events only",
  SOVR_TLS_CLIENT_CERT: "with SOVR_TLS_CA: required, or optional (a bearer may stand in for a certificate)",
  SOVR_OIDC_ISSUERS: "trusted OIDC/JWT issuers and their claim mapping (JSON, or a JSON/YAML file path)",
  SOVR_MTLS_IDENTITIES: "client-certificate rules (subject or SAN URI → tenant, roles); needs SOVR_TLS_CA",
  SOVR_TOKEN_LIMIT_TPM: "tokens per minute per API key; 0 = off",
  SOVR_TENANT_TOKEN_LIMIT_TPM: "tokens per minute per tenant; 0 = off",
  SOVR_TOKEN_LIMIT_DEFAULT_MAX_TOKENS:
    "output tokens a token-limit estimate assumes when a call sets no max_tokens",
  SOVR_RATE_LIMIT_SCOPE:
    "replica: limits count per process; cluster: shared through Postgres with a stated bound",
  SOVR_RATE_LIMIT_WINDOW_MS: "cluster scope: the limit window's length",
  SOVR_BUDGET_REFRESH_MS:
    "how often a replica re-reads which tenants have budgets (limits are read per commit)",
  SOVR_LOG_FORMAT: "auto: pretty on a terminal, JSON otherwise; or json, pretty",
  SOVR_TRACE_PROPAGATE_UPSTREAM:
    "traceparent to upstreams (tracing on via OTEL_*): local endpoints only, all, or none",
  SOVR_RATE_LIMIT_LEASE_PERCENT: "cluster scope: share of a window's limit a replica leases at once",
};

export interface ConfigHelpRow {
  key: string;
  /** The schema's default as text; "-" when the variable has none (unset). */
  default: string;
  meaning: string;
}

/** One row per variable `loadConfig` reads, in schema order, then SOVR_CONFIG. */
export function configHelpRows(): ConfigHelpRow[] {
  const defaults = CONFIG_SCHEMA.parse({}) as Record<string, unknown>;
  const text = (v: unknown) => (v === undefined ? "-" : Array.isArray(v) ? v.join(",") || '""' : String(v));
  const rows: ConfigHelpRow[] = (Object.keys(CONFIG_SCHEMA.shape) as Key[]).map((key) => ({
    key,
    default: text(defaults[key]),
    meaning: MEANING[key],
  }));
  rows.push({
    key: "SOVR_CONFIG",
    default: "-",
    meaning: "a JSON file with any of these keys; the environment wins",
  });
  return rows;
}

/** The block `sovr serve --help` prints after its usage. */
export function configHelpText(): string {
  const rows = configHelpRows();
  const w = Math.max(...rows.map((r) => r.key.length));
  const d = Math.min(30, Math.max(...rows.map((r) => r.default.length)));
  const lines = rows.map((r) => {
    const def = r.default.length > d ? `${r.default}\n${" ".repeat(w + d + 6)}` : r.default.padEnd(d);
    return `  ${r.key.padEnd(w)}  ${def}  ${r.meaning}`;
  });
  return `\nConfiguration (environment variables; default, then meaning):\n${lines.join("\n")}\n`;
}
