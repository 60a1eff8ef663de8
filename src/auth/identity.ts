import type { Role } from "./api-keys.js";

/**
 * How a caller proved who it is: an API key (`sovr_…`), a JWT from a configured OIDC issuer, or
 * an mTLS client certificate matched by a rule. Reaches the policy input
 * (`input.principal.identity`) and the decision record's `caller`; never the token itself.
 */
export interface Identity {
  kind: "api_key" | "jwt" | "mtls";
  /**
   * Who: the API key id; the token's subject claim (`sub` by default); the certificate's SAN
   * URI (a SPIFFE ID) or common name that matched the rule.
   */
  subject: string;
  /**
   * Selected facts, as strings: for a JWT `iss` and the issuer's `expose_claims`; for a
   * certificate its SHA-256 fingerprint. Never a token, signature or key.
   */
  claims: Readonly<Record<string, string>>;
}

/** A role no token or certificate can grant: the platform operator is an API key only. */
export const KEY_ONLY_ROLE: Role = "operator";

/** A JWT or certificate mapped to a caller: the tenant and roles it speaks for, and who it is. */
export interface MappedIdentity {
  tenant: string;
  roles: Role[];
  identity: Identity;
}

/**
 * Thrown when a presented credential is refused (expired, wrong audience, unknown key, no
 * mapping…). The message says what is wrong and never echoes the token or a claim's value.
 */
export class CredentialError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "CredentialError";
  }
}

/**
 * The mapping-time guard (the config load refuses operator too): roles must be known and none
 * may be operator, whatever a claim says; a mapping that would grant it refuses the credential.
 */
export function grantableRoles(roles: Iterable<string>, known: readonly string[]): Role[] {
  const out = new Set<Role>();
  for (const r of roles) {
    if (r === KEY_ONLY_ROLE)
      throw new CredentialError("the mapping would grant operator, which only an API key holds");
    if (known.includes(r)) out.add(r as Role);
  }
  return [...out];
}
