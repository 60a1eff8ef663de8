import type { CertificateRule } from "../config/index.js";
import type { Authenticator } from "./api-keys.js";
import { mapCertificate, type PeerCertificate } from "./cert-identity.js";
import { CredentialError, type MappedIdentity } from "./identity.js";
import { IssuerUnavailableError, JwtVerifier, looksLikeJwt } from "./jwt-verifier.js";

/**
 * Every way a caller may prove who it is: API keys (always), JWTs from the configured OIDC
 * issuers, mTLS client certificates matched by the configured rules. `authorize()`
 * (./access.ts) takes this, or a bare {@link Authenticator} for API keys alone.
 */
export class CallerAuth {
  constructor(
    readonly keys: Authenticator,
    readonly jwt: JwtVerifier = new JwtVerifier([]),
    readonly certificateRules: readonly CertificateRule[] = [],
  ) {}
}

/** Why a workload credential was refused: the AuthError failure and its message. */
export type WorkloadRefusal = { failure: "unauthenticated" | "unavailable"; message: string; cause: unknown };

/**
 * The workload identity behind a call, when it has one, in this order:
 *
 * 1. A client certificate that is present but not trusted refuses the call, whatever else it
 *    carries (only reachable with SOVR_TLS_CLIENT_CERT=optional; required mode refuses it in the
 *    handshake).
 * 2. A JWT-shaped bearer ({@link looksLikeJwt}) is verified as a JWT, never as an API key.
 * 3. Another bearer: undefined — the API key path decides (a bearer is the call's own
 *    credential, so it wins over the connection's certificate).
 * 4. No bearer and a trusted certificate, with rules configured: the certificate's mapping.
 * 5. Otherwise undefined (the API key path answers "missing API key").
 */
export async function workloadIdentity(
  auth: CallerAuth,
  bearer: string | undefined,
  peer: PeerCertificate | undefined,
): Promise<MappedIdentity | WorkloadRefusal | undefined> {
  try {
    if (peer && !peer.authorized) return mapCertificate([], peer);
    if (bearer !== undefined) {
      if (!looksLikeJwt(bearer)) return undefined;
      if (!auth.jwt.enabled)
        throw new CredentialError("JWT bearer tokens are not accepted here: no OIDC issuer is configured");
      return await auth.jwt.verify(bearer);
    }
    if (peer && auth.certificateRules.length > 0) return mapCertificate(auth.certificateRules, peer);
    return undefined;
  } catch (cause) {
    if (cause instanceof CredentialError)
      return { failure: "unauthenticated", message: cause.message, cause };
    if (cause instanceof IssuerUnavailableError)
      return { failure: "unavailable", message: cause.message, cause };
    throw cause;
  }
}
