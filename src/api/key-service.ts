import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError, type ServiceImpl } from "@connectrpc/connect";
import type { Kysely } from "kysely";
import {
  type ApiKeyInfo,
  type Authenticator,
  createApiKey,
  listApiKeys,
  type Role,
  revokeApiKey,
} from "../auth/api-keys.js";
import type { Database } from "../db/schema.js";
import { type KeyService, Role as RoleEnum } from "../gen/sovereign/v1/keys_pb.js";

const FROM_ENUM: Partial<Record<RoleEnum, Role>> = {
  [RoleEnum.CLIENT]: "client",
  [RoleEnum.AUDITOR]: "auditor",
  [RoleEnum.ADMIN]: "admin",
};
const TO_ENUM: Record<Role, RoleEnum> = {
  client: RoleEnum.CLIENT,
  auditor: RoleEnum.AUDITOR,
  admin: RoleEnum.ADMIN,
};

export function keyMessage(k: ApiKeyInfo) {
  return {
    keyId: k.keyId,
    tenant: k.tenant,
    roles: k.roles.map((r) => TO_ENUM[r]),
    description: k.description,
    createdAt: timestampFromDate(k.createdAt),
    revokedAt: k.revokedAt ? timestampFromDate(k.revokedAt) : undefined,
    lastUsedAt: k.lastUsedAt ? timestampFromDate(k.lastUsedAt) : undefined,
  };
}

/** KeyService: admin-only key management; the interceptor has checked the role already. */
export class KeyServiceImpl implements ServiceImpl<typeof KeyService> {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly auth: Authenticator,
  ) {}

  async createKey(req: { tenant: string; roles: RoleEnum[]; description: string }) {
    const roles = req.roles.map((r, i) => {
      const role = FROM_ENUM[r];
      if (!role)
        throw new ConnectError(`roles[${i}]: must be client, auditor or admin`, Code.InvalidArgument);
      return role;
    });
    if (roles.length === 0)
      throw new ConnectError("roles: at least one role is required", Code.InvalidArgument);
    try {
      const { key, token } = await createApiKey(this.db, {
        tenant: req.tenant,
        roles,
        description: req.description,
      });
      return { key: keyMessage(key), secret: token };
    } catch (err) {
      if (err instanceof RangeError) throw new ConnectError(err.message, Code.InvalidArgument);
      throw err;
    }
  }

  async revokeKey(req: { keyId: string }) {
    const key = await revokeApiKey(this.db, req.keyId);
    if (!key) throw new ConnectError(`key_id: no key ${req.keyId}`, Code.NotFound);
    this.auth.invalidate(req.keyId);
    return { key: keyMessage(key) };
  }

  async listKeys(req: { tenant: string }) {
    return { keys: (await listApiKeys(this.db, req.tenant || undefined)).map(keyMessage) };
  }
}
