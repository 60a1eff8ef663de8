/**
 * What an API key may route to and grant (issue 17): allowed models (exact ids or globs such as
 * `openai/*`), allowed providers (catalog provider slugs), and the highest role it may give the
 * keys it creates. An empty list allows everything, as a key without scopes always has.
 */
export interface KeyScope {
  /** Model ids or globs (`*` matches any run of characters, `/` included); empty = any model. */
  readonly models: readonly string[];
  /** Provider slugs; empty = any provider. */
  readonly providers: readonly string[];
}

export const UNSCOPED: KeyScope = Object.freeze({ models: [], providers: [] });

/**
 * Roles ordered for delegation ceilings: a key with max role R creates keys whose roles and max
 * role are at most R. The order follows what each role can reach: a client routes, an auditor
 * also reads records, a tenant admin manages its tenant, an operator the platform.
 */
export const ROLE_RANK = { client: 0, auditor: 1, admin: 2, operator: 3 } as const;
export type RankedRole = keyof typeof ROLE_RANK;

const MODEL_PATTERN = /^[A-Za-z0-9*][A-Za-z0-9._:/@*-]{0,199}$/;
const PROVIDER_SLUG = /^[a-z0-9][a-z0-9._-]{0,62}$/;
const MAX_ENTRIES = 64;

/** Checks a scope's entries; the RangeError names the field at fault (never a secret). */
export function validateScope(scope: KeyScope): KeyScope {
  const check = (field: string, list: readonly string[], re: RegExp, what: string) => {
    if (list.length > MAX_ENTRIES) throw new RangeError(`${field}: at most ${MAX_ENTRIES} entries`);
    list.forEach((v, i) => {
      if (!re.test(v)) throw new RangeError(`${field}[${i}]: must be ${what}`);
    });
  };
  check("allowed_models", scope.models, MODEL_PATTERN, "a model id or glob such as openai/*");
  check("allowed_providers", scope.providers, PROVIDER_SLUG, "a provider slug (a-z, 0-9, . _ -)");
  return { models: [...new Set(scope.models)], providers: [...new Set(scope.providers)] };
}

const globs = new Map<string, RegExp>();

function globMatch(pattern: string, value: string): boolean {
  if (!pattern.includes("*")) return pattern === value;
  let re = globs.get(pattern);
  if (!re) {
    const body = pattern
      .split("*")
      .map((s) => s.replace(/[.+?^${}()|[\]\\]/g, "\\$&"))
      .join(".*");
    re = new RegExp(`^${body}$`);
    if (globs.size < 10_000) globs.set(pattern, re);
  }
  return re.test(value);
}

/** Whether the scope lets the key ask for `model`. */
export function modelInScope(scope: KeyScope | undefined, model: string): boolean {
  if (!scope || scope.models.length === 0) return true;
  return scope.models.some((p) => globMatch(p, model));
}

/** Whether the scope lets the key's requests go to `provider`. */
export function providerInScope(scope: KeyScope | undefined, provider: string): boolean {
  if (!scope || scope.providers.length === 0) return true;
  return scope.providers.includes(provider);
}

/** Comma-separated storage form (entries contain no commas by validation). */
export function scopeToColumns(scope: KeyScope): { allowed_models: string; allowed_providers: string } {
  return { allowed_models: scope.models.join(","), allowed_providers: scope.providers.join(",") };
}

export function scopeFromColumns(models: string, providers: string): KeyScope {
  const split = (s: string) => (s === "" ? [] : s.split(","));
  return { models: split(models), providers: split(providers) };
}
