import type { OidcIssuerConfig } from "../config/index.js";
import { ROLES } from "./api-keys.js";
import { CredentialError, grantableRoles, type MappedIdentity } from "./identity.js";

const TENANT = /^[a-z0-9][a-z0-9._-]{0,62}$/;
/** Longest exposed claim value kept; longer values are cut (records stay small). */
const MAX_CLAIM_CHARS = 256;

/**
 * A verified token's claims → tenant, roles and identity, by the issuer's configured mapping
 * (src/config/identity.ts). Refusals name the claim, never its value.
 */
export function mapClaims(
  issuer: OidcIssuerConfig,
  payload: Readonly<Record<string, unknown>>,
): MappedIdentity {
  const subject = payload[issuer.subject_claim];
  if (typeof subject !== "string" || subject === "")
    throw new CredentialError(`token has no ${issuer.subject_claim} claim (a string)`);

  let tenant: string;
  if ("value" in issuer.tenant) tenant = issuer.tenant.value;
  else {
    const claimed = payload[issuer.tenant.claim];
    if (typeof claimed !== "string" || !TENANT.test(claimed))
      throw new CredentialError(`token's ${issuer.tenant.claim} claim is not a tenant slug`);
    if (issuer.allowed_tenants && !issuer.allowed_tenants.includes(claimed))
      throw new CredentialError(`token's tenant is not one this issuer may speak for`);
    tenant = claimed;
  }

  let named: string[];
  if ("value" in issuer.roles) named = [...issuer.roles.value];
  else {
    const values = claimValues(payload[issuer.roles.claim]);
    const map = issuer.roles.map;
    named = map ? values.flatMap((v) => (Object.hasOwn(map, v) ? map[v]! : [])) : values;
  }
  const roles = grantableRoles(named, ROLES);
  if (roles.length === 0) throw new CredentialError("token maps to no role");

  const claims: Record<string, string> = { iss: issuer.issuer };
  for (const name of issuer.expose_claims) {
    const v = payload[name];
    const s = Array.isArray(v) ? claimValues(v).join(" ") : scalar(v);
    if (s !== undefined) claims[name] = s.slice(0, MAX_CLAIM_CHARS);
  }
  return { tenant, roles, identity: { kind: "jwt", subject, claims } };
}

/** A roles claim: a space-separated string (as OAuth `scope`) or an array of strings. */
function claimValues(v: unknown): string[] {
  if (typeof v === "string") return v.split(/\s+/).filter((x) => x !== "");
  if (Array.isArray(v)) return v.filter((x): x is string => typeof x === "string");
  return [];
}

function scalar(v: unknown): string | undefined {
  return typeof v === "string" || typeof v === "number" || typeof v === "boolean" ? String(v) : undefined;
}
