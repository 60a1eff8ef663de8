import { type Timestamp, timestampDate, timestampFromDate } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError, type HandlerContext, type ServiceImpl } from "@connectrpc/connect";
import type { Kysely } from "kysely";
import type { AdminTrail } from "../../audit/index.js";
import type { Principal } from "../../auth/index.js";
import {
  type ApiKeyInfo,
  type Authenticator,
  createApiKey,
  grantRefusal,
  listApiKeys,
  type Role,
  revokeApiKey,
  validateScope,
} from "../../auth/index.js";
import type { Database } from "../../db/index.js";
import { type KeyService, Role as RoleEnum } from "../../gen/sovereign/v1/keys_pb.js";
import { adminActorOf } from "../../routing/index.js";
import { principalKey } from "./context.js";
import { toConnectError } from "./errors.js";

const FROM_ENUM: Partial<Record<RoleEnum, Role>> = {
  [RoleEnum.CLIENT]: "client",
  [RoleEnum.AUDITOR]: "auditor",
  [RoleEnum.ADMIN]: "admin",
  [RoleEnum.OPERATOR]: "operator",
};
const TO_ENUM: Record<Role, RoleEnum> = {
  client: RoleEnum.CLIENT,
  auditor: RoleEnum.AUDITOR,
  admin: RoleEnum.ADMIN,
  operator: RoleEnum.OPERATOR,
};

export function keyMessage(k: ApiKeyInfo) {
  return {
    keyId: k.keyId,
    tenant: k.tenant,
    roles: k.roles.map((r) => TO_ENUM[r]),
    allTenants: k.allTenants,
    description: k.description,
    createdAt: timestampFromDate(k.createdAt),
    revokedAt: k.revokedAt ? timestampFromDate(k.revokedAt) : undefined,
    lastUsedAt: k.lastUsedAt ? timestampFromDate(k.lastUsedAt) : undefined,
    expiresAt: k.expiresAt ? timestampFromDate(k.expiresAt) : undefined,
    label: k.label,
    allowedModels: [...k.scope.models],
    allowedProviders: [...k.scope.providers],
    maxRole: k.maxRole ? TO_ENUM[k.maxRole] : RoleEnum.UNSPECIFIED,
  };
}

/** A RangeError from validation is the caller's input at fault: InvalidArgument. */
function invalidAsArgument<T>(fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    if (err instanceof RangeError) throw new ConnectError(err.message, Code.InvalidArgument);
    throw err;
  }
}

const isOperator = (p: Principal) => p.roles.includes("operator");

/** A tenant admin acts inside its own tenant only; the refusal names the field at fault. */
function ownTenantOnly(p: Principal, field: string, tenant: string): void {
  if (!isOperator(p) && tenant !== p.tenant)
    throw new ConnectError(
      `${field}: a tenant admin manages only its own tenant's keys (${p.tenant}), not ${tenant}`,
      Code.PermissionDenied,
    );
}

/**
 * KeyService. The interceptor has checked the role (admin or operator); the tenant walls are
 * here: a tenant admin creates, lists and revokes only its own tenant's keys and can grant
 * neither `operator` nor `all_tenants` (a tenant cannot raise itself to the platform); an
 * operator manages every tenant's keys, operator keys included.
 */
export class KeyServiceImpl implements ServiceImpl<typeof KeyService> {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly auth: Authenticator,
    /** Where key.create and key.revoke are recorded before they take effect (absent: not recorded). */
    private readonly trail?: AdminTrail,
  ) {}

  async createKey(
    req: {
      tenant: string;
      roles: RoleEnum[];
      allTenants: boolean;
      description: string;
      expiresAt?: Timestamp;
      label: string;
      allowedModels: string[];
      allowedProviders: string[];
      maxRole: RoleEnum;
    },
    ctx: HandlerContext,
  ) {
    const principal = ctx.values.get(principalKey);
    const tenant = req.tenant || principal.tenant;
    ownTenantOnly(principal, "tenant", tenant);
    const roles = req.roles.map((r, i) => {
      const role = FROM_ENUM[r];
      if (!role)
        throw new ConnectError(
          `roles[${i}]: must be client, auditor, admin or operator`,
          Code.InvalidArgument,
        );
      if (role === "operator" && !isOperator(principal))
        throw new ConnectError(`roles[${i}]: only an operator creates operator keys`, Code.PermissionDenied);
      return role;
    });
    if (roles.length === 0)
      throw new ConnectError("roles: at least one role is required", Code.InvalidArgument);
    if (req.allTenants && !isOperator(principal))
      throw new ConnectError("all_tenants: only an operator grants it", Code.PermissionDenied);
    const maxRole = req.maxRole === RoleEnum.UNSPECIFIED ? undefined : FROM_ENUM[req.maxRole];
    if (req.maxRole !== RoleEnum.UNSPECIFIED && !maxRole)
      throw new ConnectError("max_role: must be client, auditor, admin or operator", Code.InvalidArgument);
    const scope = invalidAsArgument(() =>
      validateScope({ models: req.allowedModels, providers: req.allowedProviders }),
    );
    const refusal = grantRefusal(principal, { roles, maxRole, scope });
    if (refusal) throw new ConnectError(`${refusal.field}: ${refusal.message}`, Code.PermissionDenied);
    try {
      const { key, token } = await createApiKey(this.db, {
        tenant,
        roles,
        allTenants: req.allTenants,
        description: req.description,
        label: req.label,
        scope,
        ...(maxRole ? { maxRole } : {}),
        ...(req.expiresAt ? { expiresAt: timestampDate(req.expiresAt) } : {}),
      });
      if (this.trail) {
        // The token is handed out only once the record is committed: when it cannot be, the
        // row goes again and nobody ever held the secret (fail closed).
        try {
          await this.trail.record(adminActorOf(principal), {
            tenant,
            action: "key.create",
            target: { key_id: key.keyId },
          });
        } catch (err) {
          await this.db.deleteFrom("api_keys").where("key_id", "=", key.keyId).execute();
          throw toConnectError(err);
        }
      }
      // Usable at once on this replica (and its cluster workers); other replicas read it within their refresh interval.
      await this.auth.keysChanged();
      return { key: keyMessage(key), secret: token };
    } catch (err) {
      if (err instanceof RangeError) throw new ConnectError(err.message, Code.InvalidArgument);
      throw err;
    }
  }

  async revokeKey(req: { keyId: string }, ctx: HandlerContext) {
    const principal = ctx.values.get(principalKey);
    // Another tenant's key id answers as an unknown one: ids are not revealed across tenants.
    const tenant = isOperator(principal) ? undefined : principal.tenant;
    const [current] = (await listApiKeys(this.db, tenant)).filter((k) => k.keyId === req.keyId);
    if (current && !current.revokedAt && this.trail)
      await this.trail
        .record(adminActorOf(principal), {
          tenant: current.tenant,
          action: "key.revoke",
          target: { key_id: current.keyId },
        })
        .catch((err: unknown) => {
          throw toConnectError(err);
        });
    const key = await revokeApiKey(this.db, req.keyId, new Date(), tenant);
    if (!key) throw new ConnectError(`key_id: no key ${req.keyId}`, Code.NotFound);
    await this.auth.keysChanged();
    return { key: keyMessage(key) };
  }

  async listKeys(req: { tenant: string }, ctx: HandlerContext) {
    const principal = ctx.values.get(principalKey);
    if (req.tenant) ownTenantOnly(principal, "tenant", req.tenant);
    const tenant = req.tenant || (isOperator(principal) ? undefined : principal.tenant);
    return { keys: (await listApiKeys(this.db, tenant)).map(keyMessage) };
  }
}
