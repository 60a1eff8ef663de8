import type { ApiKeyInfo, Authenticator, KeyCheck, Role } from "./api-keys.js";
import { CallerAuth, workloadIdentity } from "./callers.js";
import type { PeerCertificate } from "./cert-identity.js";
import type { Identity } from "./identity.js";
import type { Principal } from "./principal.js";

/** Who may call what. Anything not listed is refused: access fails closed. */
export type Access = "public" | readonly Role[];

const ANY: readonly Role[] = ["client", "auditor", "admin", "operator"];

/** Per RPC (`package.Service/Method`) and HTTP route. */
export const ACCESS: Readonly<Record<string, Access>> = {
  // Routing: callers with a client key. Explain is also how a security team tests a rule.
  "sovereign.v1.RouterService/Chat": ["client"],
  "sovereign.v1.RouterService/ChatStream": ["client"],
  "sovereign.v1.RouterService/Explain": ["client", "admin", "operator"],
  "sovereign.v1.RouterService/Embed": ["client"],
  // The catalog is public knowledge inside the organisation. Changing it moves every tenant's
  // traffic (and BYOK keys) to new origins, so it is the platform operator's act, not a tenant's.
  "sovereign.v1.CatalogService/ListProviders": ANY,
  "sovereign.v1.CatalogService/ListEndpoints": ANY,
  "sovereign.v1.CatalogService/GetEndpoint": ANY,
  "sovereign.v1.CatalogService/WatchCatalog": ANY,
  "sovereign.v1.CatalogService/GetRevision": ANY,
  "sovereign.v1.CatalogService/ApplyCatalog": ["operator"],
  // Decision records: auditors only (docs/architecture.md §7), scoped to their tenant by AuditServiceImpl.
  "sovereign.v1.AuditService/QueryDecisions": ["auditor"],
  "sovereign.v1.AuditService/GetDecision": ["auditor"],
  "sovereign.v1.AuditService/GetCheckpoint": ["auditor"],
  "sovereign.v1.AuditService/GetConsistencyProof": ["auditor"],
  "sovereign.v1.AuditService/GetInclusionProof": ["auditor"],
  "sovereign.v1.AuditService/ReplayDecision": ["auditor"],
  "sovereign.v1.AuditService/ExportDecisions": ["auditor"],
  "sovereign.v1.AuditService/ListSigningKeys": ["auditor"],
  // Usage (tokens, cost): a tenant's auditors and admins its own tenant's, an operator or an
  // all-tenant auditor every tenant's (walls in UsageServiceImpl).
  "sovereign.v1.UsageService/GetUsage": ["auditor", "admin", "operator"],
  "sovereign.v1.AuditService/WatchDecisions": ["auditor"],
  // A draft bundle's impact over past decisions: its tenant's auditors, and operators (who
  // activate bundles) over every tenant; walls in api/grpc/audit-impact.ts.
  "sovereign.v1.AuditService/PolicyImpact": ["auditor", "operator"],
  "sovereign.v1.AuditService/QueryAdminRecords": ["auditor"],
  // BYOK: a tenant admin, for its own tenant only (checked in src/auth/byok-admin.ts).
  "sovereign.v1.ByokService/SetKey": ["admin"],
  "sovereign.v1.ByokService/RemoveKey": ["admin"],
  "sovereign.v1.ByokService/ListKeys": ["admin"],
  "sovereign.v1.ByokService/ApproveOrigins": ["admin"],
  // Keys: a tenant admin its own tenant's, an operator any tenant's (walls in KeyServiceImpl).
  "sovereign.v1.KeyService/CreateKey": ["admin", "operator"],
  "sovereign.v1.KeyService/RevokeKey": ["admin", "operator"],
  "sovereign.v1.KeyService/ListKeys": ["admin", "operator"],
  // Budgets: a tenant admin its own tenant's, an operator any tenant's (walls in budget/budget-admin.ts).
  "sovereign.v1.BudgetService/SetBudget": ["admin", "operator"],
  "sovereign.v1.BudgetService/ListBudgets": ["admin", "operator"],
  "sovereign.v1.BudgetService/DeleteBudget": ["admin", "operator"],
  // Probes and reflection carry no data.
  "grpc.health.v1.Health/Check": "public",
  "grpc.health.v1.Health/Watch": "public",
  "grpc.reflection.v1.ServerReflection/ServerReflectionInfo": "public",
  "grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo": "public",
  // OpenAI-compatible HTTP API.
  "POST /v1/chat/completions": ["client"],
  "POST /v1/responses": ["client"],
  "POST /v1/embeddings": ["client"],
  "GET /v1/models": ["client"],
  // Anthropic Messages API (same callers as chat completions).
  "POST /v1/messages": ["client"],
  // BYOK provider keys: the tenant admin's own tenant only (the route checks the path's tenant).
  // Not the operator's: whoever moves endpoints must not also hold the keys sent to them.
  "GET /v1/admin/byok": ["admin"],
  "PUT /v1/admin/byok": ["admin"],
  "DELETE /v1/admin/byok": ["admin"],
  "POST /v1/admin/byok": ["admin"],
};

/** unavailable: the key store could not be asked (transient; the caller may retry). */
export type AuthFailure = "unauthenticated" | "permission_denied" | "unavailable";

export class AuthError extends Error {
  constructor(
    readonly failure: AuthFailure,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = "AuthError";
  }
}

/** Header naming the tenant a call acts for; must match the key's tenant unless it is an operator's. */
export const TENANT_HEADER = "x-sovr-tenant";

/**
 * The one check for both APIs: credentials → principal, or an {@link AuthError}. A bearer is
 * a JWT when it has the JWS compact shape (verified against the configured issuers), else an API
 * key; with no bearer, a trusted client certificate matched by a rule (./callers.ts). Messages
 * say what is wrong (no key, bad or revoked key, refused token, missing role, other tenant),
 * never echo a key or token.
 */
export async function authorize(
  auth: Authenticator | CallerAuth,
  operation: string,
  authorization: string | null | undefined,
  tenantHeader: string | null | undefined,
  peer?: PeerCertificate,
): Promise<Principal | undefined> {
  const access = ACCESS[operation];
  if (access === "public") return undefined;
  const m = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? "");
  const callers = auth instanceof CallerAuth ? auth : new CallerAuth(auth);
  const workload = await workloadIdentity(callers, m?.[1], peer);
  if (workload && "failure" in workload)
    throw new AuthError(workload.failure, workload.message, { cause: workload.cause });
  let key: Pick<ApiKeyInfo, "keyId" | "tenant" | "roles" | "allTenants"> &
    Partial<Pick<ApiKeyInfo, "scope" | "maxRole">>;
  let identity: Identity;
  if (workload) {
    key = { keyId: "", tenant: workload.tenant, roles: workload.roles, allTenants: false };
    identity = workload.identity;
  } else {
    if (!m) throw new AuthError("unauthenticated", "missing API key: send `authorization: Bearer <key>`");
    let checked: KeyCheck;
    try {
      checked = await callers.keys.verify(m[1]!);
    } catch (cause) {
      throw new AuthError("unavailable", "cannot check the API key right now", { cause });
    }
    if ("refused" in checked)
      throw new AuthError(
        "unauthenticated",
        checked.refused === "expired" ? "expired API key" : "invalid or revoked API key",
      );
    key = checked.key;
    identity = { kind: "api_key", subject: checked.key.keyId, claims: {} };
  }
  const who =
    identity.kind === "api_key"
      ? `key ${key.keyId}`
      : `this ${identity.kind === "jwt" ? "token" : "certificate"}`;
  if (!access) throw new AuthError("permission_denied", `${operation} is not open to any role`);
  if (!key.roles.some((r) => access.includes(r))) {
    throw new AuthError(
      "permission_denied",
      `${operation} requires role ${access.join(" or ")}; ${who} has ${key.roles.join(", ")}`,
    );
  }
  // Only a platform operator acts for another tenant; a tenant admin is an admin of its own.
  const operator = key.roles.includes("operator");
  if (tenantHeader && tenantHeader !== key.tenant && !operator) {
    throw new AuthError("permission_denied", `${who} belongs to tenant ${key.tenant}, not ${tenantHeader}`);
  }
  return {
    tenant: tenantHeader && operator ? tenantHeader : key.tenant,
    workload: "",
    roles: key.roles,
    keyId: key.keyId,
    allTenants: key.allTenants,
    ...(key.scope && (key.scope.models.length > 0 || key.scope.providers.length > 0)
      ? { scope: key.scope }
      : {}),
    ...(key.maxRole ? { maxRole: key.maxRole } : {}),
    identity,
  };
}
