/**
 * Embeddings through the data plane (docs/architecture.md §6): the same `decide()` (operation
 * "embedding": the inputs are the request's messages, one `user` message each, so the policy
 * input, the `kind` filter, the estimate and the decision record work unchanged), the decision
 * record durable before the first upstream byte, the plan tried in order with failover on
 * connection errors, timeouts, 429 and 5xx, and an outcome record with usage and cost. One
 * upstream call per attempt: there is no stream, so failover is possible until the answer.
 * Neither the inputs nor the vectors reach a log, an error or a record: only counts.
 */
import type { Principal, TenantKey } from "../auth/index.js";
import type { ResolvedEndpoint } from "../catalog/index.js";
import type { EmbeddingRequest, EmbeddingResult } from "../upstream/index.js";
import { UpstreamError } from "../upstream/index.js";
import { settlementOf } from "./budget-hold.js";
import type { Decision } from "./decide.js";
import type { AttemptRecord, OutcomeRecordV1 } from "./decision-record.js";
import { AllAttemptsFailedError, BudgetExceededError, NoEligibleEndpointError } from "./errors.js";
import { estimatePromptTokens } from "./filters.js";
import { afterFailedAttempt, asUpstreamError, attempt, costMicroUsd, outcomeRecord } from "./outcome.js";
import { unappliedParameters } from "./parameters.js";
import type { CostedUsage, PlannedAttempt, RouterDeps } from "./router.js";
import type { RouteRequest } from "./types.js";

/** What {@link routeEmbedding} needs of the Router: its dependencies and its shared steps. */
export interface RouteContext {
  deps: RouterDeps;
  now: () => number;
  /** `decide()` with the record made durable (an AuditUnavailableError if it cannot be). */
  decide(
    req: RouteRequest,
    principal: Principal,
  ): Promise<{ decision: Decision; keys: ReadonlyMap<string, TenantKey>; held?: boolean }>;
  /** The plan's endpoints with their credentials, in order (BYOK first). */
  attempts(plan: readonly ResolvedEndpoint[], keys: ReadonlyMap<string, TenantKey>): PlannedAttempt[];
  observeFailure(
    endpoint: ResolvedEndpoint,
    err: UpstreamError,
    durationMs: number,
    credential: "byok" | "shared",
  ): void;
}

/** A routed embeddings call: one vector per input, in input order. */
export interface EmbeddingOutcome {
  decisionId: string;
  endpoint: ResolvedEndpoint;
  /** 1-based attempt that answered. */
  attempt: number;
  vectors: number[][];
  /** Prompt tokens (completion tokens 0) and the cost at the endpoint's prompt price. */
  usage: CostedUsage;
  /** Advisory parameters of the request this endpoint does not take: not sent. */
  unappliedParameters: readonly string[];
}

/** The embedding inputs of a request: its messages' text, in order. */
export function embeddingInputs(req: Pick<RouteRequest, "messages">): string[] {
  return req.messages.map((m) =>
    typeof m.content === "string"
      ? m.content
      : m.content.map((p) => (p.type === "text" ? p.text : "")).join(""),
  );
}

/**
 * The call as the endpoint's upstream should see it: its own model name; `dimensions` (a
 * contract parameter) reaches here only for endpoints that declare it, `user` (advisory) is
 * sent only where declared.
 */
export function toEmbeddingRequest(req: RouteRequest, endpoint: ResolvedEndpoint): EmbeddingRequest {
  const out: EmbeddingRequest = {
    model: endpoint.upstreamModel ?? endpoint.model,
    input: embeddingInputs(req),
  };
  const declared = endpoint.supportedParameters;
  const dimensions = req.params?.dimensions;
  if (typeof dimensions === "number" && declared.includes("dimensions")) out.dimensions = dimensions;
  const user = req.params?.user;
  if (typeof user === "string" && declared.includes("user")) out.user = user;
  return out;
}

/** Routes `req` (operation "embedding") for `principal`; see the file comment. */
export async function routeEmbedding(
  ctx: RouteContext,
  req: RouteRequest,
  principal: Principal,
  signal?: AbortSignal,
): Promise<EmbeddingOutcome> {
  const { deps } = ctx;
  const started = ctx.now();
  let decided: Awaited<ReturnType<RouteContext["decide"]>>;
  try {
    decided = await ctx.decide(req, principal);
  } catch (err) {
    deps.observer?.finished("error", (ctx.now() - started) / 1000);
    throw err;
  }
  const { decision, keys, held } = decided;
  if (decision.outcome !== "routed") {
    deps.observer?.finished("denied", (ctx.now() - started) / 1000);
    if (decision.outcome === "policy_error") throw decision.error;
    if (decision.budget) throw new BudgetExceededError(decision.budget, decision.id);
    throw new NoEligibleEndpointError(decision.verdicts, decision.id);
  }
  const planned = ctx.attempts(decision.plan, keys);
  const inputCount = req.messages.length;
  const attempts: AttemptRecord[] = [];
  let outcome: OutcomeRecordV1["outcome"] = "failed";
  let endpointUsed: ResolvedEndpoint | undefined;
  let usage: CostedUsage | undefined;
  let errorClass: string | null = null;
  let unapplied: string[] = [];
  try {
    for (let i = 0; i < planned.length; i++) {
      const { endpoint, apiKey, credential } = planned[i]!;
      const attemptStart = ctx.now();
      let result: EmbeddingResult;
      try {
        const adapter = deps.adapters[endpoint.api];
        if (!adapter?.embed) throw new UpstreamError("protocol", `api ${endpoint.api} has no embeddings`);
        result = await adapter.embed(
          { baseUrl: endpoint.baseUrl, apiKey },
          toEmbeddingRequest(req, endpoint),
          {
            ...deps.timeouts,
            signal,
            requestId: decision.id,
          },
        );
        if (result.vectors.length !== inputCount)
          throw new UpstreamError(
            "protocol",
            `upstream returned ${result.vectors.length} vectors for ${inputCount} inputs`,
          );
      } catch (err) {
        const ue = asUpstreamError(err);
        attempts.push(attempt(endpoint, attemptStart, ctx.now(), ue));
        ctx.observeFailure(endpoint, ue, ctx.now() - attemptStart, credential);
        const next = afterFailedAttempt(ue, i + 1 < planned.length, attempts, decision.id);
        if (next === "next") continue;
        errorClass = next.errorClass;
        throw next.error;
      }
      const end = ctx.now();
      attempts.push(attempt(endpoint, attemptStart, end));
      // Time to the whole answer stands in for time to first token (latency sort, health).
      deps.health.recordSuccess(endpoint.id, { ttftMs: end - attemptStart });
      deps.stats?.record(endpoint.id, {
        ok: true,
        ttftMs: end - attemptStart,
        durationMs: end - attemptStart,
      });
      const tokens = result.usage?.promptTokens ?? estimatePromptTokens(req);
      const u = { promptTokens: tokens, completionTokens: 0 };
      usage = { ...u, costMicroUsd: costMicroUsd(u, endpoint) };
      endpointUsed = endpoint;
      unapplied = unappliedParameters(endpoint, req);
      outcome = "success";
      return {
        decisionId: decision.id,
        endpoint,
        attempt: i + 1,
        vectors: result.vectors,
        usage,
        unappliedParameters: unapplied,
      };
    }
    throw new AllAttemptsFailedError([], decision.id);
  } finally {
    const now = ctx.now();
    const record = outcomeRecord({
      decisionId: decision.id,
      tenant: principal.tenant,
      nowMs: now,
      startedMs: started,
      outcome,
      attempts,
      endpointUsed,
      usage,
      unapplied,
      // No stream: the first "token" is the whole answer.
      ttftMs: outcome === "success" ? now - started : undefined,
      errorClass,
    });
    // Appended without holding the caller, as for chat; failures surface in metrics and logs.
    const settle = held ? settlementOf(usage, endpointUsed, req, 0) : undefined;
    deps.recorder.recordOutcome(record, settle).catch(() => {});
    const observer = deps.observer;
    if (observer) {
      for (const a of attempts) observer.attempt(a.endpoint_id, a.error_class ?? "ok");
      observer.finished(outcome, (ctx.now() - started) / 1000);
    }
  }
}
