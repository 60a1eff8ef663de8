/** Shared fixtures for the audit tests: a plausible decision and outcome, nothing secret. */
import {
  buildDecisionRecord,
  type DecisionInput,
  type DecisionRecordV2,
  type OutcomeInput,
  type Unsequenced,
} from "../../src/audit/record.js";
import { candidateColumns } from "../../src/audit/record-candidates.js";

export function sampleDecisionInput(overrides: Partial<DecisionInput> = {}): DecisionInput {
  return {
    router: "router-a",
    principal: { tenant: "acme", workload: "support-bot", roles: ["client"] },
    request: {
      model: "mistralai/mistral-large",
      models: ["meta-llama/llama-3.3-70b"],
      provider: {
        allow_fallbacks: true,
        zdr: true,
        max_price_micro_usd: { prompt: 2_500_000, completion: 6_000_000 },
        sort: { by: "price", partition: "model" },
      },
      region: "eu",
      labels: { team: "cx" },
      message_count: 3,
      estimated_prompt_tokens: 812,
      max_tokens: 512,
      parameters: ["max_tokens", "temperature"],
    },
    policy: { revision: "rev-7", sha256: "a".repeat(64), eval_us: 412 },
    catalog_revision: "b".repeat(64),
    candidates: [
      {
        endpoint_id: "mistral/mistral-large-eu",
        model: "mistralai/mistral-large",
        eligible: true,
        exclusions: [],
        weight_ppb: 1_000_000_000,
        unhealthy: false,
        ttft_us: 180_000,
        tokens_per_second_milli: 61_250,
      },
      {
        endpoint_id: "acme/mistral-large-us",
        model: "mistralai/mistral-large",
        eligible: false,
        exclusions: [{ stage: "policy", rule: "residency", reason: "processes in us, request requires eu" }],
        weight_ppb: 0,
        unhealthy: false,
        ttft_us: null,
        tokens_per_second_milli: null,
      },
    ],
    seed: "18446744073709551615",
    plan: ["mistral/mistral-large-eu"],
    ...overrides,
  };
}

export const outcomeInput = (decision_id: string): OutcomeInput => ({
  decision_id,
  outcome: "success",
  attempts: [
    {
      endpoint_id: "mistral/mistral-large-eu",
      started_us: 1_700_000_000_000_000,
      duration_us: 412_000,
      status: 200,
      error_class: null,
    },
  ],
  endpoint_used: "mistral/mistral-large-eu",
  usage: { prompt_tokens: 800, completion_tokens: 120 },
  cost_micro_usd: 2320,
  latency_us: 415_000,
  ttft_us: 90_000,
  error_class: null,
});

/**
 * A v2 decision as the router writes it (before the log numbers it): the v1 sample's content,
 * its candidates as columns referring to `checks`, an API-key caller, text input.
 */
export function sampleDecisionV2(
  overrides: Partial<Unsequenced<DecisionRecordV2>> = {},
): Unsequenced<DecisionRecordV2> {
  const v1 = buildDecisionRecord(sampleDecisionInput());
  const { checks, candidates } = candidateColumns(v1.candidates);
  return {
    v: 2,
    kind: "decision",
    decision_id: v1.decision_id,
    time_us: v1.time_us,
    router: v1.router,
    shard: "",
    principal: v1.principal,
    caller: { kind: "api_key", subject: "support-bot", key_id: "k_01JD5XW0S8Q2" },
    request: { ...v1.request, modalities: ["text"] },
    policy: v1.policy,
    catalog_revision: v1.catalog_revision,
    checks,
    candidates,
    labels: {},
    obligations: [],
    seed: v1.seed,
    plan: v1.plan,
    ...overrides,
  };
}
