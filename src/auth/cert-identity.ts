import type { CertificateRule } from "../config/index.js";
import { ROLES } from "./api-keys.js";
import { CredentialError, grantableRoles, type MappedIdentity } from "./identity.js";

/**
 * The client certificate of a TLS connection, as the transport read it
 * (src/api/transport/peer-certificate.ts). `authorized`: it chains to the configured CA
 * (SOVR_TLS_CA) and is within its validity.
 */
export interface PeerCertificate {
  authorized: boolean;
  /** The subject's common name, when it has one. */
  cn: string | undefined;
  /** Its subjectAltName URIs (SPIFFE IDs are URIs), in order. */
  uris: readonly string[];
  /** SHA-256 fingerprint, colon-separated hex (as Node gives it). */
  fingerprint256: string;
}

/**
 * A trusted client certificate → caller, by the first rule (SOVR_MTLS_IDENTITIES) that matches:
 * a SAN URI exactly (`uri`), a SAN URI by prefix (`uri_prefix`, e.g. a SPIFFE trust domain and
 * namespace), or the subject CN (`cn`). The subject recorded is what matched. No rule matching
 * refuses the certificate; an untrusted one is refused before any rule is read.
 */
export function mapCertificate(rules: readonly CertificateRule[], cert: PeerCertificate): MappedIdentity {
  if (!cert.authorized) throw new CredentialError("client certificate is not signed by the configured CA");
  for (const rule of rules) {
    const subject = matchRule(rule, cert);
    if (subject === undefined) continue;
    const roles = grantableRoles(rule.roles, ROLES);
    return {
      tenant: rule.tenant,
      roles,
      identity: { kind: "mtls", subject, claims: { cert_sha256: cert.fingerprint256 } },
    };
  }
  throw new CredentialError("client certificate matches no identity rule");
}

function matchRule(rule: CertificateRule, cert: PeerCertificate): string | undefined {
  if (rule.uri !== undefined) return cert.uris.find((u) => u === rule.uri);
  if (rule.uri_prefix !== undefined) return cert.uris.find((u) => u.startsWith(rule.uri_prefix!));
  if (rule.cn !== undefined && cert.cn === rule.cn) return cert.cn;
  return undefined;
}
