import type { Identity } from "./identity.js";
import type { KeyScope } from "./key-scope.js";

/** Who is calling: the tenant and workload an API key, a JWT or a client certificate (or the auth-off default) speaks for. */
export interface Principal {
  tenant: string;
  workload: string;
  roles: readonly string[];
  /** The API key the caller authenticated with ("" without one). */
  keyId: string;
  /** An auditor granted every tenant's records; otherwise it sees its own tenant's only. */
  allTenants: boolean;
  /** The API key's scopes (models, providers); absent = unscoped (routing/key-scope.ts). */
  scope?: KeyScope;
  /** The highest role this caller may grant to keys it creates; absent = its own highest. */
  maxRole?: string;
  /**
   * How it proved who it is (API key, JWT, mTLS certificate), its subject and selected claims;
   * absent when authentication is off. Reaches the policy input and the decision record.
   */
  identity?: Identity;
}
