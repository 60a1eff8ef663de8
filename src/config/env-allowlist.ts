/**
 * Which environment variables a catalog may name (issue 11, findings 3 and 4). A catalog is
 * data from an operator's API call, not configuration: it must not be able to pick a server
 * secret and have it sent upstream as a bearer token (`api_key_env`) or copied into a stored,
 * publicly readable `base_url` (`${VAR}`). So both accept only an explicit allow-list from the
 * server's configuration, and a hard deny that no configuration lifts comes first.
 */

/** The allow-lists the server's configuration gives (src/config/config.ts). */
export interface CatalogEnvPolicy {
  /** Variables `${VAR}` may read in `base_url`: non-secret URL parts only. */
  readonly urlVars: ReadonlySet<string>;
  /** Variables `api_key_env` may name: the shared provider credentials. */
  readonly keyVars: ReadonlySet<string>;
  /** Variables the config module marks secret: hard-denied like the built-in list. */
  readonly secretVars?: ReadonlySet<string>;
}

/**
 * Non-secret URL parts the shipped catalog interpolates: the simulator's address, the Azure
 * resource name and the Google Cloud project id (both appear in the public host name or path).
 */
export const DEFAULT_URL_VARS: readonly string[] = [
  "SOVR_SIMULATOR_URL",
  "AZURE_OPENAI_RESOURCE",
  "GOOGLE_CLOUD_PROJECT",
];

/** The provider credentials the shipped catalog (catalog/*.yaml) names in `api_key_env`. */
export const DEFAULT_KEY_VARS: readonly string[] = [
  "ALEPH_ALPHA_API_KEY",
  "ANTHROPIC_API_KEY",
  "AWS_BEARER_TOKEN_BEDROCK",
  "AZURE_OPENAI_API_KEY",
  "FIREWORKS_API_KEY",
  "IONOS_API_TOKEN",
  "MISTRAL_API_KEY",
  "OPENAI_API_KEY",
  "OVH_AI_ENDPOINTS_ACCESS_TOKEN",
  "SCW_SECRET_KEY",
  "TOGETHER_API_KEY",
  "VERTEX_ACCESS_TOKEN",
];

/** `SOVR_*` variables that are explicitly non-secret URLs; every other `SOVR_*` is denied. */
const NON_SECRET_SOVR_URLS: ReadonlySet<string> = new Set(["SOVR_SIMULATOR_URL"]);

/** Server secrets by name: the database, the BYOK master key, signing and TLS material. */
const SERVER_SECRETS: ReadonlySet<string> = new Set([
  "DATABASE_URL",
  "SOVR_MASTER_KEY",
  "SOVR_MASTER_KEY_FILE",
  "SOVR_KEYS_DIR",
  "SOVR_TLS_KEY",
  "PGPASSWORD",
]);

/** A name that reads as a credential; never interpolated into a (stored, public) URL. */
const CREDENTIAL_NAME = /(KEY|SECRET|TOKEN|PASSWORD|PASSWD|CREDENTIAL|PRIVATE|AUTH)/;

/**
 * Why `name` can never be named by a catalog, whatever the configuration says, or undefined.
 * `secretVars` are the variables the config module marks secret.
 */
export function hardDenied(name: string, secretVars?: ReadonlySet<string>): string | undefined {
  if (SERVER_SECRETS.has(name) || secretVars?.has(name)) {
    return `${name} is a server secret and can never be named by a catalog (no configuration lifts this)`;
  }
  if (name.startsWith("SOVR_") && !NON_SECRET_SOVR_URLS.has(name)) {
    return `${name} is server configuration and can never be named by a catalog (no configuration lifts this)`;
  }
  return undefined;
}

/** Why `${name}` may not appear in a `base_url`, or undefined when it may. */
export function urlVarRefusal(name: string, policy: CatalogEnvPolicy | undefined): string | undefined {
  const denied = hardDenied(name, policy?.secretVars);
  if (denied) return denied;
  if (CREDENTIAL_NAME.test(name) || policy?.keyVars.has(name)) {
    return `\${${name}} names a credential; a base_url is stored and shown to every caller, so it may only interpolate non-secret variables`;
  }
  if (policy && !policy.urlVars.has(name)) {
    return `\${${name}} is not on the allow-list of base_url variables (SOVR_CATALOG_URL_VARS)`;
  }
  return undefined;
}

/** Why `api_key_env: name` is refused, or undefined when it is allowed. */
export function keyVarRefusal(name: string, policy: CatalogEnvPolicy | undefined): string | undefined {
  const denied = hardDenied(name, policy?.secretVars);
  if (denied) return denied;
  if (policy && !policy.keyVars.has(name)) {
    return `${name} is not on the allow-list of provider key variables (SOVR_PROVIDER_KEY_VARS)`;
  }
  return undefined;
}

/** The allow-listed provider credentials of `env` and nothing else (the router's view). */
export function providerKeyEnv(
  env: Readonly<Record<string, string | undefined>>,
  policy: CatalogEnvPolicy,
): Record<string, string | undefined> {
  const out: Record<string, string | undefined> = {};
  for (const name of policy.keyVars) if (keyVarRefusal(name, policy) === undefined) out[name] = env[name];
  return out;
}
