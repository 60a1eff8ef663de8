/**
 * What routing does for budgets (docs/budgets.md): the reservation a routed request takes with
 * its decision record, the denial that record becomes when the reservation does not fit, and
 * what the outcome settles. The ledger itself (src/budget) runs inside the audit log's commit.
 */
import { candidateColumns, candidateRows } from "../audit/index.js";
import type { BudgetRefusal } from "../budget/index.js";
import { describeBudget } from "../budget/index.js";
import type { ResolvedEndpoint } from "../catalog/index.js";
import type { Usage } from "../upstream/index.js";
import type { DeniedDecision, RoutedDecision } from "./decide.js";
import type { DecisionRecordV1 } from "./decision-record.js";
import { estimatePromptTokens } from "./filters.js";
import { costMicroUsd } from "./outcome.js";
import type { RouteRequest } from "./types.js";

/** Spend and tokens, as a reservation or a settlement. */
export interface BudgetAmount {
  usdMicros: number;
  tokens: number;
}

/**
 * The most the request can cost on any endpoint of its plan: the prompt estimate plus
 * `max_tokens` (else the most the endpoint can answer: its `max_output_tokens`, bounded by its
 * context length less the prompt),
 * priced at each endpoint's prices, the highest taken — failover may land on any of them.
 * Embeddings answer no tokens.
 */
export function reservationFor(req: RouteRequest, plan: readonly ResolvedEndpoint[]): BudgetAmount {
  const prompt = estimatePromptTokens(req);
  let out: BudgetAmount = { usdMicros: 0, tokens: 0 };
  for (const e of plan) {
    const completion = req.operation === "embedding" ? 0 : (req.maxTokens ?? outputLimit(e, prompt));
    const u = { promptTokens: prompt, completionTokens: completion };
    out = {
      usdMicros: Math.max(out.usdMicros, costMicroUsd(u, e)),
      tokens: Math.max(out.tokens, prompt + completion),
    };
  }
  return out;
}

/** The most tokens `e` can answer after a prompt of `prompt` tokens. */
function outputLimit(e: ResolvedEndpoint, prompt: number): number {
  const room = Math.max(0, e.contextLength - prompt);
  return e.maxOutputTokens === undefined ? room : Math.min(e.maxOutputTokens, room);
}

/**
 * What a call settles at its outcome: the upstream's usage and cost when it reported them;
 * after an aborted or broken stream, the prompt estimate and the chunks streamed so far at the
 * serving endpoint's prices; nothing when no endpoint answered.
 */
export function settlementOf(
  usage: (Usage & { costMicroUsd: number }) | undefined,
  endpointUsed: ResolvedEndpoint | undefined,
  req: RouteRequest,
  streamedChunks: number,
): BudgetAmount {
  if (usage) return { usdMicros: usage.costMicroUsd, tokens: usage.promptTokens + usage.completionTokens };
  if (!endpointUsed) return { usdMicros: 0, tokens: 0 };
  const u = { promptTokens: estimatePromptTokens(req), completionTokens: streamedChunks };
  return { usdMicros: costMicroUsd(u, endpointUsed), tokens: u.promptTokens + u.completionTokens };
}

/** The exclusion every planned endpoint gets when the reservation does not fit. */
export function budgetExclusion(refusal: BudgetRefusal) {
  return {
    stage: "availability" as const,
    rule: "budget",
    reason: `budget: the ${describeBudget(refusal)} would be exceeded`,
  };
}

/**
 * The routed record as the denial the log writes instead: every eligible candidate excluded by
 * the budget, no plan, no obligations. A pure function of the record and the refusal, so the
 * router rebuilds exactly what was signed.
 */
export function budgetDeniedRecord(record: DecisionRecordV1, refusal: BudgetRefusal): DecisionRecordV1 {
  return withExclusion(record, budgetExclusion(refusal));
}

/**
 * Replay: a budget refusal is not an input of decide() (it is the ledger's state at the
 * commit), so a recorded budget denial is replayed by denying the re-decided record the same
 * way; everything else about the decision is still compared.
 */
export function asRecordedBudgetDenial(
  replayed: DecisionRecordV1,
  recorded: { checks?: readonly { stage: string; rule: string; reason: string }[] },
): DecisionRecordV1 {
  const check = recorded.checks?.find((c) => c.stage === "availability" && c.rule === "budget");
  return check
    ? withExclusion(replayed, { stage: "availability", rule: "budget", reason: check.reason })
    : replayed;
}

function withExclusion(
  record: DecisionRecordV1,
  exclusion: { stage: "availability"; rule: string; reason: string },
): DecisionRecordV1 {
  const rows = candidateRows(record).map(({ eligible, ...row }) =>
    eligible
      ? { ...row, exclusions: [exclusion], weight_ppb: 0, ttft_us: null, tokens_per_second_milli: null }
      : row,
  );
  return { ...record, ...candidateColumns(rows), obligations: [], plan: [] };
}

/** The routed decision as the denial it became: its record, its verdicts, the refusal. */
export function budgetDenied(decision: RoutedDecision, refusal: BudgetRefusal): DeniedDecision {
  const exclusion = budgetExclusion(refusal);
  return {
    ...decision,
    outcome: "denied",
    plan: [],
    record: budgetDeniedRecord(decision.record, refusal),
    verdicts: decision.verdicts.map((v) =>
      v.eligible
        ? {
            endpoint: v.endpoint,
            eligible: false,
            exclusions: [exclusion],
            weight: 0,
            performance: v.performance,
          }
        : v,
    ),
    budget: refusal,
  };
}
