import { readFileSync } from "node:fs";
import { parse as parseYaml } from "yaml";
import { z } from "zod";

/**
 * Workload identity settings (docs/security.md, "Workload identity"): the OIDC issuers whose JWT
 * bearer tokens are accepted (`SOVR_OIDC_ISSUERS`) and the rules mapping mTLS client
 * certificates to callers (`SOVR_MTLS_IDENTITIES`). Each variable holds JSON, or the path of a
 * JSON or YAML file. Parsed once at start-up; a bad entry stops start-up naming the variable and
 * the path inside it.
 *
 * Neither can grant `operator`: the platform operator is an API key created by another operator
 * (or the first-start key), never whatever an identity provider or a CA asserts. Refused here,
 * at load, and again when a token or certificate is mapped (src/auth/identity.ts).
 */

/** What a mapping may grant: every role but operator. */
const role = z
  .enum(["client", "auditor", "admin", "operator"])
  .refine((r) => r !== "operator", "operator cannot be granted by a token or certificate mapping");

const tenant = z.string().regex(/^[a-z0-9][a-z0-9._-]{0,62}$/, "must be a tenant slug (a-z, 0-9, . _ -)");

/** Asymmetric JWS algorithms (RFC 7518 §3.1, RFC 8037). `none` and HMAC are refused outright. */
export const JWT_ALGORITHMS = [
  "RS256",
  "RS384",
  "RS512",
  "PS256",
  "PS384",
  "PS512",
  "ES256",
  "ES384",
  "ES512",
  "EdDSA",
] as const;
const algorithm = z.string().refine((a) => (JWT_ALGORITHMS as readonly string[]).includes(a), {
  error: (i) =>
    String(i.input).toLowerCase() === "none" || /^HS/i.test(String(i.input))
      ? "unsigned (none) and symmetric (HS*) algorithms are refused"
      : `must be one of ${JWT_ALGORITHMS.join(", ")}`,
});

/** https, or http on a loopback host only (a local identity provider, tests). */
const fetchUrl = z.url().refine((u) => {
  const url = new URL(u);
  return url.protocol === "https:" || ["127.0.0.1", "localhost", "[::1]"].includes(url.hostname);
}, "must be https (http only on a loopback address)");

const issuer = z.strictObject({
  /** Must equal the token's `iss` exactly. */
  issuer: fetchUrl,
  /** Where the keys are; absent: OIDC discovery (`<issuer>/.well-known/openid-configuration`). */
  jwks_uri: fetchUrl.optional(),
  /** The token's `aud` must contain one of these. */
  audiences: z.array(z.string().min(1)).min(1),
  algorithms: z.array(algorithm).min(1).default(["RS256"]),
  /**
   * A token naming a `kid` the cached JWKS lacks (key rotation) refetches it, at most once per
   * this many seconds (jose's cooldown); the keys are refetched every 10 minutes regardless.
   */
  jwks_cooldown_s: z.number().int().min(0).max(3600).default(30),
  /** Tolerance on `exp`, `nbf` and `iat`, in seconds (at most 300). */
  max_clock_skew_s: z.number().int().min(0).max(300).default(60),
  /** The claim naming the caller (recorded as its subject). */
  subject_claim: z.string().min(1).default("sub"),
  /** The tenant: a claim holding the slug, or one fixed tenant for every token of this issuer. */
  tenant: z.union([z.strictObject({ claim: z.string().min(1) }), z.strictObject({ value: tenant })]),
  /** With a tenant claim: the tenants this issuer may speak for (absent: any). */
  allowed_tenants: z.array(tenant).min(1).optional(),
  /**
   * Roles: fixed, or from a claim (a string, space-separated, or an array of strings). With `map`,
   * only the values it names grant roles (value → roles); without, values are role names.
   */
  roles: z.union([
    z.strictObject({ claim: z.string().min(1), map: z.record(z.string(), z.array(role)).optional() }),
    z.strictObject({ value: z.array(role).min(1) }),
  ]),
  /** Claims copied (as strings) into the policy input and the decision record. Never the token. */
  expose_claims: z.array(z.string().min(1)).max(16).default([]),
});

const certificateRule = z
  .strictObject({
    /** A SAN URI exactly (e.g. a SPIFFE ID `spiffe://example.org/ns/acme/sa/bot`). */
    uri: z.string().min(1).optional(),
    /** A SAN URI starting with this (e.g. `spiffe://example.org/ns/acme/`). */
    uri_prefix: z.string().min(1).optional(),
    /** The subject's common name exactly. */
    cn: z.string().min(1).optional(),
    tenant,
    roles: z.array(role).min(1),
  })
  .refine((r) => [r.uri, r.uri_prefix, r.cn].filter((x) => x !== undefined).length === 1, {
    error: "give exactly one of uri, uri_prefix, cn",
  });

export type OidcIssuerConfig = z.infer<typeof issuer>;
export type CertificateRule = z.infer<typeof certificateRule>;

const issuers = z.array(issuer).refine((list) => new Set(list.map((i) => i.issuer)).size === list.length, {
  error: "an issuer is listed twice",
});

export class IdentityConfigError extends Error {
  constructor(
    readonly key: string,
    message: string,
  ) {
    super(message);
    this.name = "IdentityConfigError";
  }
}

/** JSON given inline (starts with `[` or `{`), else the path of a JSON or YAML file. */
function readValue(key: string, value: string): unknown {
  const inline = /^\s*[[{]/.test(value);
  try {
    if (inline) return JSON.parse(value);
    const text = readFileSync(value, "utf8");
    return /\.ya?ml$/i.test(value) ? parseYaml(text) : JSON.parse(text);
  } catch (err) {
    throw new IdentityConfigError(
      key,
      `cannot read ${inline ? "the JSON" : value}: ${(err as Error).message}`,
    );
  }
}

function parseWith<T>(key: string, value: string | undefined, schema: z.ZodType<T>): T | undefined {
  if (value === undefined || value.trim() === "") return undefined;
  const parsed = schema.safeParse(readValue(key, value));
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0]!;
  const at = issue.path.map((p) => (typeof p === "number" ? `[${p}]` : `.${String(p)}`)).join("");
  throw new IdentityConfigError(key, `${at || "(top)"}: ${issue.message}`);
}

export function parseOidcIssuers(value: string | undefined): readonly OidcIssuerConfig[] {
  return Object.freeze(parseWith("SOVR_OIDC_ISSUERS", value, issuers) ?? []);
}

export function parseCertificateRules(value: string | undefined): readonly CertificateRule[] {
  return Object.freeze(parseWith("SOVR_MTLS_IDENTITIES", value, z.array(certificateRule)) ?? []);
}
