// The public face of config/: other folders import only what is exported here.
export { type Config, ConfigError, loadConfig } from "./config.js";
export { type ConfigHelpRow, configHelpRows, configHelpText } from "./config-help.js";
export { type CatalogEnvPolicy, keyVarRefusal, providerKeyEnv, urlVarRefusal } from "./env-allowlist.js";
export { type CertificateRule, JWT_ALGORITHMS, type OidcIssuerConfig } from "./identity.js";
export { DEFAULT_REQUEST_LIMITS, LIMITS, type RateLimitSettings, type RequestLimits } from "./limits.js";
export { checkPrivateFile, ensurePrivateDir } from "./private-paths.js";
export type { TracePropagation, TracingConfig } from "./tracing-config.js";
