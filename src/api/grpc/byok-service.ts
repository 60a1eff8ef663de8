import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import type { HandlerContext, ServiceImpl } from "@connectrpc/connect";
import type { ByokAdmin, ByokKeyView } from "../../auth/index.js";
import type {
  ByokService,
  ByokServiceApproveOriginsRequest,
  ByokServiceListKeysRequest,
  ByokServiceRemoveKeyRequest,
  ByokServiceSetKeyRequest,
} from "../../gen/sovereign/v1/byok_pb.js";
import { principalKey } from "./context.js";
import { InvalidFieldError, toConnectError } from "./errors.js";

/** A key as the API shows it: where it may go, never what it is. */
function keyMessage(k: ByokKeyView) {
  return {
    tenant: k.tenant,
    provider: k.provider,
    always: k.always,
    updatedAt: timestampFromDate(k.updatedAt),
    approvedOrigins: k.approvedOrigins,
    suspendedOrigins: k.suspendedOrigins,
  };
}

function required(field: string, value: string): string {
  if (value === "") throw new InvalidFieldError(field, "is required");
  return value;
}

/**
 * ByokService: tenant admins' own provider keys. The access table requires the admin role; the
 * tenant rule (own tenant only) and every other rule live in {@link ByokAdmin}, shared with the
 * HTTP route `/v1/admin/byok`.
 */
export class ByokServiceImpl implements ServiceImpl<typeof ByokService> {
  constructor(private readonly admin: ByokAdmin) {}

  async setKey(req: ByokServiceSetKeyRequest, ctx: HandlerContext) {
    try {
      const caller = ctx.values.get(principalKey);
      const tenant = required("tenant", req.tenant);
      const provider = required("provider", req.provider);
      const key = await this.admin.set(caller, tenant, provider, required("key", req.key), req.always);
      return { key: keyMessage(key) };
    } catch (err) {
      throw toConnectError(err);
    }
  }

  async removeKey(req: ByokServiceRemoveKeyRequest, ctx: HandlerContext) {
    try {
      const caller = ctx.values.get(principalKey);
      const deleted = await this.admin.remove(
        caller,
        required("tenant", req.tenant),
        required("provider", req.provider),
      );
      return { deleted };
    } catch (err) {
      throw toConnectError(err);
    }
  }

  async listKeys(req: ByokServiceListKeysRequest, ctx: HandlerContext) {
    try {
      const keys = await this.admin.list(ctx.values.get(principalKey), req.tenant);
      return { keys: keys.map(keyMessage) };
    } catch (err) {
      throw toConnectError(err);
    }
  }

  async approveOrigins(req: ByokServiceApproveOriginsRequest, ctx: HandlerContext) {
    try {
      const caller = ctx.values.get(principalKey);
      const key = await this.admin.approve(
        caller,
        required("tenant", req.tenant),
        required("provider", req.provider),
        req.origins,
      );
      return { key: keyMessage(key) };
    } catch (err) {
      throw toConnectError(err);
    }
  }
}
