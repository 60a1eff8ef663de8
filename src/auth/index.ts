// The public face of auth/: other folders import only what is exported here.
export { ACCESS, AuthError, authorize, TENANT_HEADER } from "./access.js";
export {
  type ApiKeyInfo,
  Authenticator,
  countApiKeys,
  createApiKey,
  type KeyCheck,
  listApiKeys,
  parseApiKey,
  ROLES,
  type Role,
  revokeApiKey,
} from "./api-keys.js";
export { ByokError, ByokStore, MasterKey, type TenantKey } from "./byok.js";
export {
  ByokAccessError,
  ByokAdmin,
  type ByokChange,
  type ByokGate,
  type ByokKeyJson,
  type ByokKeyView,
  ByokNotFoundError,
  byokKeyJson,
} from "./byok-admin.js";
export { CallerAuth } from "./callers.js";
export type { PeerCertificate } from "./cert-identity.js";
export { CredentialError, type Identity } from "./identity.js";
export { JwtVerifier, type JwtVerifierOptions, looksLikeJwt } from "./jwt-verifier.js";
export { grantCeiling, grantRefusal } from "./key-grants.js";
export {
  type KeyScope,
  modelInScope,
  providerInScope,
  type RankedRole,
  ROLE_RANK,
  validateScope,
} from "./key-scope.js";
export { endpointOrigin } from "./origin.js";
export type { Principal } from "./principal.js";
