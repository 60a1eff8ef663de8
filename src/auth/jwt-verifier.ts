import { createRemoteJWKSet, decodeJwt, errors, jwtVerify, type RemoteJWKSet } from "jose";
import type { OidcIssuerConfig } from "../config/index.js";
import { mapClaims } from "./claim-mapping.js";
import { CredentialError, type MappedIdentity } from "./identity.js";

/**
 * A bearer that has the shape of a JWS compact serialisation (RFC 7515 §7.1): three base64url
 * segments separated by dots, the last (the signature) possibly empty — so `alg: none` tokens
 * count as JWTs and are refused as such. API keys (`sovr_<id>_<secret>`) never contain a dot,
 * so the two never overlap: a bearer is either checked here or as an API key, never both.
 */
const JWS_COMPACT = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;

export function looksLikeJwt(bearer: string): boolean {
  // An API key (no dot) is answered without the pattern: it would scan and backtrack over it.
  return bearer.includes(".") && JWS_COMPACT.test(bearer);
}

/** The keys could not be fetched: transient, the caller may retry (AuthError "unavailable"). */
export class IssuerUnavailableError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "IssuerUnavailableError";
  }
}

export interface JwtVerifierOptions {
  /** Keys are refetched at least this often (ms); default 10 min. */
  cacheMaxAgeMs?: number;
  /** Fetch timeout of the discovery document and the JWKS (ms); default 5 s. */
  timeoutMs?: number;
}

interface Issuer {
  config: OidcIssuerConfig;
  keys?: RemoteJWKSet;
  /** Discovery in flight or done (the JWKS URL); reset after a failure. */
  discovery?: Promise<URL>;
  failedAt?: number;
}

/**
 * Verifies JWT bearer tokens against the configured OIDC issuers (src/config/identity.ts) and
 * maps them to callers (./claim-mapping.ts). Per issuer the JWKS is fetched with jose's remote
 * key set — cached, refetched when it is older than `cacheMaxAgeMs`, and when a token names a
 * `kid` it does not hold (key rotation) at most once per `jwks_cooldown_s`. Checked: signature with
 * one of the issuer's algorithms (never `none` or HMAC, so a token HMAC-signed with the public
 * key is refused), `iss` exactly, `aud` among the audiences, `exp` (required), `nbf` and `iat`
 * with at most `max_clock_skew_s` of tolerance.
 */
export class JwtVerifier {
  readonly #issuers = new Map<string, Issuer>();

  constructor(
    issuers: readonly OidcIssuerConfig[],
    private readonly opts: JwtVerifierOptions = {},
  ) {
    for (const config of issuers) this.#issuers.set(config.issuer, { config });
  }

  get enabled(): boolean {
    return this.#issuers.size > 0;
  }

  /**
   * The caller a token speaks for; throws CredentialError when it is refused, or
   * IssuerUnavailableError when the issuer's keys cannot be fetched.
   */
  async verify(token: string): Promise<MappedIdentity> {
    let iss: unknown;
    try {
      iss = decodeJwt(token).iss;
    } catch (cause) {
      throw new CredentialError("malformed JWT", { cause });
    }
    const issuer = typeof iss === "string" ? this.#issuers.get(iss) : undefined;
    if (!issuer) throw new CredentialError("JWT from an issuer that is not accepted");
    const keys = await this.#keys(issuer);
    const c = issuer.config;
    let payload: Record<string, unknown>;
    try {
      ({ payload } = await jwtVerify(token, keys, {
        issuer: c.issuer,
        audience: c.audiences,
        algorithms: c.algorithms,
        clockTolerance: c.max_clock_skew_s,
        requiredClaims: ["exp"],
      }));
    } catch (err) {
      throw refusal(err);
    }
    // jose checks iat's type but not that it is past: a token issued in the future is refused.
    if (typeof payload.iat === "number" && payload.iat > Date.now() / 1000 + c.max_clock_skew_s)
      throw new CredentialError("JWT iat claim check failed (issued in the future)");
    return mapClaims(c, payload);
  }

  async #keys(issuer: Issuer): Promise<RemoteJWKSet> {
    if (issuer.keys) return issuer.keys;
    const cooldown = issuer.config.jwks_cooldown_s * 1000;
    if (issuer.failedAt !== undefined && Date.now() - issuer.failedAt < cooldown)
      throw new IssuerUnavailableError("the token's issuer could not be reached recently");
    issuer.discovery ??= this.#jwksUrl(issuer.config);
    try {
      const url = await issuer.discovery;
      issuer.keys ??= createRemoteJWKSet(url, {
        cooldownDuration: cooldown,
        cacheMaxAge: this.opts.cacheMaxAgeMs ?? 600_000,
        timeoutDuration: this.opts.timeoutMs ?? 5000,
      });
      return issuer.keys;
    } catch (cause) {
      issuer.discovery = undefined;
      issuer.failedAt = Date.now();
      throw new IssuerUnavailableError("cannot fetch the token issuer's discovery document", { cause });
    }
  }

  /** The configured jwks_uri, else OIDC discovery (OpenID Connect Discovery 1.0 §4). */
  async #jwksUrl(c: OidcIssuerConfig): Promise<URL> {
    if (c.jwks_uri) return new URL(c.jwks_uri);
    const res = await fetch(`${c.issuer.replace(/\/$/, "")}/.well-known/openid-configuration`, {
      signal: AbortSignal.timeout(this.opts.timeoutMs ?? 5000),
      redirect: "error",
    });
    if (!res.ok) throw new Error(`discovery answered ${res.status}`);
    const doc = (await res.json()) as { issuer?: unknown; jwks_uri?: unknown };
    // §4.3: the document's issuer must be exactly the one configured.
    if (doc.issuer !== c.issuer) throw new Error("discovery document names another issuer");
    if (typeof doc.jwks_uri !== "string") throw new Error("discovery document has no jwks_uri");
    const url = new URL(doc.jwks_uri);
    if (url.protocol !== "https:" && !["127.0.0.1", "localhost", "[::1]"].includes(url.hostname))
      throw new Error("discovery's jwks_uri is not https");
    return url;
  }
}

/** jose's verification errors → what the caller hears (never the token or a claim's value). */
function refusal(err: unknown): Error {
  if (err instanceof errors.JWTExpired) return new CredentialError("JWT has expired", { cause: err });
  if (err instanceof errors.JWTClaimValidationFailed)
    return new CredentialError(`JWT ${err.claim} claim check failed (${err.reason})`, { cause: err });
  if (err instanceof errors.JOSEAlgNotAllowed)
    return new CredentialError("JWT algorithm is not allowed for this issuer", { cause: err });
  if (err instanceof errors.JWKSNoMatchingKey || err instanceof errors.JWKSMultipleMatchingKeys)
    return new CredentialError("JWT names a key the issuer does not publish", { cause: err });
  if (err instanceof errors.JWSSignatureVerificationFailed)
    return new CredentialError("JWT signature does not verify", { cause: err });
  if (
    err instanceof errors.JWSInvalid ||
    err instanceof errors.JWTInvalid ||
    err instanceof errors.JOSENotSupported
  )
    return new CredentialError("malformed or unsupported JWT", { cause: err });
  // JWKS fetch: a timeout, a non-200 answer, a network error.
  return new IssuerUnavailableError("cannot fetch the token issuer's keys", { cause: err });
}
