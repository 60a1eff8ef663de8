// The public face of auth/: other folders import only what is exported here.
export { ACCESS, AuthError, authorize, TENANT_HEADER } from "./access.js";
export {
  type ApiKeyInfo,
  Authenticator,
  countApiKeys,
  createApiKey,
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
export { endpointOrigin } from "./origin.js";
export type { Principal } from "./principal.js";
