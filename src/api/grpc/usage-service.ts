/**
 * UsageService (issue 17): requests, tokens and cost per tenant, key, model or endpoint over a
 * time range, from the signed outcome records (src/audit/usage-report.ts).
 *
 * @example
 * router.service(UsageService, new UsageServiceImpl({ db }));
 */
import { timestampDate, timestampFromDate } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError, type HandlerContext, type ServiceImpl } from "@connectrpc/connect";
import type { Kysely } from "kysely";
import { type UsageGroup, usageReport } from "../../audit/index.js";
import type { Principal } from "../../auth/index.js";
import type { Database } from "../../db/index.js";
import { type GetUsageRequest, UsageGroupBy, type UsageService } from "../../gen/sovereign/v1/usage_pb.js";
import { principalKey } from "./context.js";
import { InvalidFieldError, toConnectError } from "./errors.js";

const GROUPS: Partial<Record<UsageGroupBy, UsageGroup>> = {
  [UsageGroupBy.TENANT]: "tenant",
  [UsageGroupBy.KEY]: "key",
  [UsageGroupBy.MODEL]: "model",
  [UsageGroupBy.ENDPOINT]: "endpoint",
};

/** Sees every tenant's usage: an operator, or an auditor granted all tenants. */
const seesAll = (p: Principal) => p.allTenants || p.roles.includes("operator");

/**
 * The interceptor admits auditors, tenant admins and operators (src/auth/access.ts); the tenant
 * wall is here: a tenant admin or auditor reads its own tenant's usage only, and naming another
 * tenant is refused on `tenant` (whether that tenant exists or not, so the answer says nothing
 * about it).
 */
export class UsageServiceImpl implements ServiceImpl<typeof UsageService> {
  readonly #db: Kysely<Database>;
  readonly #now: () => Date;
  readonly #settled: (() => Promise<void>) | undefined;

  /** `settled`: as the audit service's (AuditServiceDeps.settled). */
  constructor(deps: { db: Kysely<Database>; now?: () => Date; settled?: () => Promise<void> }) {
    this.#db = deps.db;
    this.#settled = deps.settled;
    this.#now = deps.now ?? (() => new Date());
  }

  async getUsage(req: GetUsageRequest, ctx: HandlerContext) {
    try {
      const principal = ctx.values.get(principalKey);
      const by = GROUPS[req.groupBy];
      if (!by) throw new InvalidFieldError("group_by", "must be tenant, key, model or endpoint");
      if (!req.startTime) throw new InvalidFieldError("start_time", "is required");
      const from = timestampDate(req.startTime);
      const to = req.endTime ? timestampDate(req.endTime) : this.#now();
      if (from > to) throw new InvalidFieldError("end_time", "is before start_time");
      if (req.tenant && req.tenant !== principal.tenant && !seesAll(principal))
        throw new ConnectError(
          `tenant: this key reads tenant ${principal.tenant}'s usage only`,
          Code.PermissionDenied,
        );
      const tenant = req.tenant || (seesAll(principal) ? undefined : principal.tenant);
      await this.#settled?.();
      const rows = await usageReport(this.#db, { by, from, to, tenant });
      return {
        rows: rows.map((r) => ({
          group: r.group,
          requests: BigInt(r.requests),
          succeeded: BigInt(r.succeeded),
          inputTokens: BigInt(r.inputTokens),
          outputTokens: BigInt(r.outputTokens),
          costMicroUsd: BigInt(r.costMicroUsd),
        })),
        startTime: timestampFromDate(from),
        endTime: timestampFromDate(to),
      };
    } catch (err) {
      throw toConnectError(err);
    }
  }
}
