import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import type { HandlerContext, ServiceImpl } from "@connectrpc/connect";
import type { BudgetAdmin, BudgetPeriod, BudgetWithUsage } from "../../budget/index.js";
import {
  type BudgetService,
  type BudgetServiceDeleteBudgetRequest,
  type BudgetServiceListBudgetsRequest,
  type BudgetServiceSetBudgetRequest,
  BudgetPeriod as PeriodEnum,
} from "../../gen/sovereign/v1/budget_pb.js";
import { principalKey } from "./context.js";
import { InvalidFieldError, toConnectError } from "./errors.js";

const PERIODS: Partial<Record<PeriodEnum, BudgetPeriod>> = {
  [PeriodEnum.DAY]: "day",
  [PeriodEnum.MONTH]: "month",
};

function period(p: PeriodEnum): BudgetPeriod {
  const v = PERIODS[p];
  if (!v) throw new InvalidFieldError("period", "must be BUDGET_PERIOD_DAY or BUDGET_PERIOD_MONTH");
  return v;
}

/** int64 limits arrive as bigint; beyond 2^53 they are refused, not rounded. */
function limit(field: string, v: bigint | undefined): number | undefined {
  if (v === undefined) return undefined;
  if (v < 0n || v > BigInt(Number.MAX_SAFE_INTEGER))
    throw new InvalidFieldError(field, "must be from 0 to 2^53-1");
  return Number(v);
}

export function budgetMessage(b: BudgetWithUsage) {
  return {
    tenant: b.tenant,
    keyId: b.keyId,
    period: b.period === "day" ? PeriodEnum.DAY : PeriodEnum.MONTH,
    ...(b.usdMicros !== undefined ? { usdMicros: BigInt(b.usdMicros) } : {}),
    ...(b.tokens !== undefined ? { tokens: BigInt(b.tokens) } : {}),
    windowStart: timestampFromDate(b.windowStart),
    usedUsdMicros: BigInt(b.usedUsdMicros),
    usedTokens: BigInt(b.usedTokens),
  };
}

/**
 * BudgetService. The access table requires admin or operator; the tenant walls and every other
 * rule live in {@link BudgetAdmin}, shared with the HTTP route `/v1/admin/budgets`.
 */
export class BudgetServiceImpl implements ServiceImpl<typeof BudgetService> {
  constructor(private readonly admin: BudgetAdmin) {}

  async setBudget(req: BudgetServiceSetBudgetRequest, ctx: HandlerContext) {
    try {
      const budget = await this.admin.set(ctx.values.get(principalKey), {
        tenant: req.tenant,
        keyId: req.keyId,
        period: period(req.period),
        usdMicros: limit("usd_micros", req.usdMicros),
        tokens: limit("tokens", req.tokens),
      });
      return { budget: budgetMessage(budget) };
    } catch (err) {
      throw toConnectError(err);
    }
  }

  async listBudgets(req: BudgetServiceListBudgetsRequest, ctx: HandlerContext) {
    try {
      const budgets = await this.admin.list(ctx.values.get(principalKey), req.tenant, req.allTenants);
      return { budgets: budgets.map(budgetMessage) };
    } catch (err) {
      throw toConnectError(err);
    }
  }

  async deleteBudget(req: BudgetServiceDeleteBudgetRequest, ctx: HandlerContext) {
    try {
      const deleted = await this.admin.delete(ctx.values.get(principalKey), {
        tenant: req.tenant,
        keyId: req.keyId,
        period: period(req.period),
      });
      return { deleted };
    } catch (err) {
      throw toConnectError(err);
    }
  }
}
