import type { Principal, TenantKey } from "../auth/index.js";
import type { BudgetRefusal } from "../budget/index.js";
import type { CatalogSnapshot, ResolvedEndpoint } from "../catalog/index.js";
import { uuidv7 } from "../encoding/index.js";
import type { BundleRef, PolicyEvaluation, PolicyInput } from "../policy/index.js";
import type { UpstreamAdapter, UpstreamEvent, Usage } from "../upstream/index.js";
import { UpstreamError } from "../upstream/index.js";
import { type BudgetAmount, budgetDenied, reservationFor, settlementOf } from "./budget-hold.js";
import { scanContent } from "./content-labels.js";
import { candidatesFor, type Decision, decide } from "./decide.js";
import type { AttemptRecord, DecisionRecordV1, OutcomeRecordV1 } from "./decision-record.js";
import { type EmbeddingOutcome, routeEmbedding } from "./embed.js";
import {
  AuditUnavailableError,
  BudgetExceededError,
  NoEligibleEndpointError,
  StreamInterruptedError,
} from "./errors.js";
import { estimatePromptTokens } from "./filters.js";
import type { HealthTracker } from "./health.js";
import { afterFailedAttempt, asUpstreamError, attempt, costMicroUsd, outcomeRecord } from "./outcome.js";
import { unappliedParameters } from "./parameters.js";
import { plannedAttempts } from "./planned-attempts.js";
import { RedactionTable, redactRequest } from "./redact.js";
import { newSeed } from "./rng.js";
import type { CandidateVerdict, ContentDetector, Reachability, RouteRequest } from "./types.js";
import { unredactEvents } from "./unredact-stream.js";
import { toUpstreamRequest } from "./upstream-request.js";

export type { Decision } from "./decide.js";
export { costMicroUsd } from "./outcome.js";
export type { PlannedAttempt } from "./planned-attempts.js";

/** Appends signed records durably; resolves only once committed. */
export interface DecisionIndexInput {
  tenant: string;
  model: string;
  outcome: "pending" | "denied";
  bundle: BundleRef;
  catalogRevision: string;
  /** The budget reservation to take with the record (docs/budgets.md); none without budgets. */
  hold?: BudgetAmount;
}

export interface DecisionRecorder {
  /** Resolves once durable: with the refusal when the `hold` did not fit (a denial was written). */
  recordDecision(record: DecisionRecordV1, index: DecisionIndexInput): Promise<BudgetRefusal | undefined>;
  /** `settle`: the usage that replaces the decision's reservation, written with the outcome. */
  recordOutcome(record: OutcomeRecordV1, settle?: BudgetAmount): Promise<void>;
}

export interface RouterDeps {
  catalog: { current(): CatalogSnapshot };
  policy: {
    evaluate(input: PolicyInput): Promise<PolicyEvaluation>;
    /** The bundle new evaluations use, to name in the record when an evaluation fails. */
    activeBundle(): BundleRef | undefined;
  };
  recorder: DecisionRecorder;
  adapters: Readonly<Record<string, UpstreamAdapter>>;
  health: HealthTracker;
  /** Probed local runtimes (routing/local-prober.ts): an unreachable one is excluded up front. */
  reachability?: (endpointId: string) => Reachability;
  /** Live statistics for the catalog (uptime, TTFT percentiles, tokens/s). */
  stats?: {
    record(
      endpointId: string,
      sample: { ok: boolean; ttftMs?: number; tokens?: number; durationMs?: number },
    ): void;
  };
  instance: string;
  timeouts: { connectTimeoutMs: number; firstTokenTimeoutMs: number; idleTimeoutMs: number };
  /** Where credentials are looked up by name (`api_key_env`); never copied elsewhere. */
  env: Readonly<Record<string, string | undefined>>;
  /** Tenants' own provider keys (BYOK), by provider slug; tried before the shared key. */
  byok?: { keysFor(tenant: string): Promise<ReadonlyMap<string, TenantKey>> };
  /** Metrics of routed requests (ids and classes only, never content). */
  observer?: RouterObserver;
  /**
   * Finds sensitive content (issue 16): its labels reach the policy and the record, and the
   * redact obligation masks with it. Without one, `content_labels` is null: rules that depend
   * on content fail closed, and so does any obligation.
   */
  detector?: ContentDetector;
  /** Which tenants have budgets (src/budget): only their requests take a reservation. */
  budgets?: { applies(tenant: string): boolean };
  now?: () => number;
}

export interface RouterObserver {
  policyEvaluated(micros: number): void;
  /** `result`: "ok" or the attempt's error class. */
  attempt(endpointId: string, result: string): void;
  /** A routed request ended: success, failed, denied (nothing eligible, no policy) or error. */
  finished(outcome: "success" | "failed" | "denied" | "error", seconds: number): void;
}

/** Token counts with their details (cached, reasoning, audio), and the cost at catalog prices. */
export interface CostedUsage extends Usage {
  costMicroUsd: number;
}

export type RouterEvent =
  | {
      type: "route";
      decisionId: string;
      endpoint: ResolvedEndpoint;
      attempt: number;
      /** Advisory parameters of the request this endpoint does not take: not sent. */
      unappliedParameters: readonly string[];
    }
  | Extract<UpstreamEvent, { type: "delta" }>
  | {
      type: "finish";
      finishReason: string;
      choices?: { index: number; finishReason: string }[];
      usage: CostedUsage;
    };

/**
 * The data plane (docs/architecture.md §6): candidates → policy → request filters → plan, a signed decision
 * record made durable *before* anything leaves, then attempts in plan order with failover
 * until the first token reaches the caller.
 */
export class Router {
  readonly #now: () => number;

  constructor(private readonly deps: RouterDeps) {
    this.#now = deps.now ?? Date.now;
  }

  /**
   * The decision for `req` as a value: routed, denied or policy error, with its record. With
   * `record: true` the record is made durable first (an {@link AuditUnavailableError} if it
   * cannot be); `record: false` is Explain and the model list (nothing written).
   */
  async decide(
    req: RouteRequest,
    principal: Principal,
    opts: { record: boolean; seed?: bigint },
  ): Promise<Decision> {
    return (await this.#decide(req, principal, opts)).decision;
  }

  async #decide(
    req: RouteRequest,
    principal: Principal,
    opts: { record: boolean; seed?: bigint },
  ): Promise<{ decision: Decision; keys: ReadonlyMap<string, TenantKey>; held?: boolean }> {
    const snapshot = this.deps.catalog.current();
    // An unknown model is the caller's error, answered before any key store is asked.
    candidatesFor(snapshot, req);
    const keys = (await this.deps.byok?.keysFor(principal.tenant)) ?? new Map<string, TenantKey>();
    const timeMs = this.#now();
    const detector = this.deps.detector;
    const decision = await decide(req, principal, {
      snapshot,
      policy: this.deps.policy,
      performance: (id) => this.deps.health.performance(id),
      ...(this.deps.reachability ? { reachability: this.deps.reachability } : {}),
      keys,
      instance: this.deps.instance,
      timeMs,
      decisionId: uuidv7(timeMs),
      seed: opts.seed ?? newSeed(),
      contentLabels: detector ? await scanContent(req, detector) : undefined,
    });
    if (decision.outcome !== "policy_error") this.deps.observer?.policyEvaluated(decision.policyEvalUs);
    if (opts.record && decision.record && decision.bundle) {
      const routed = decision.outcome === "routed";
      const hold =
        routed && this.deps.budgets?.applies(principal.tenant)
          ? reservationFor(req, decision.plan)
          : undefined;
      const refusal = await this.#durable(decision.record, principal, req, routed ? "pending" : "denied", {
        bundle: decision.bundle,
        catalogRevision: snapshot.revision,
        ...(hold ? { hold } : {}),
      });
      if (refusal && routed) return { decision: budgetDenied(decision, refusal), keys };
      return { decision, keys, held: hold !== undefined };
    }
    return { decision, keys };
  }

  async #durable(
    record: DecisionRecordV1,
    principal: Principal,
    req: RouteRequest,
    outcome: "pending" | "denied",
    rest: Pick<DecisionIndexInput, "bundle" | "catalogRevision" | "hold">,
  ): Promise<BudgetRefusal | undefined> {
    try {
      return await this.deps.recorder.recordDecision(record, {
        tenant: principal.tenant,
        model: req.model,
        outcome,
        ...rest,
      });
    } catch (err) {
      throw new AuditUnavailableError({ cause: err });
    }
  }

  /**
   * Routes and streams: yields the route once an upstream has produced its first token, then
   * deltas, then the finish with usage. Fails over (connection errors, timeouts, 429, 5xx)
   * only before the first token; afterwards a failure ends the stream with an error.
   */
  async *stream(req: RouteRequest, principal: Principal, signal?: AbortSignal): AsyncGenerator<RouterEvent> {
    const started = this.#now();
    let decided: { decision: Decision; keys: ReadonlyMap<string, TenantKey>; held?: boolean };
    try {
      decided = await this.#decide(req, principal, { record: true });
    } catch (err) {
      this.deps.observer?.finished("error", (this.#now() - started) / 1000);
      throw err;
    }
    const { decision, keys, held } = decided;
    // The edge of the data plane: a refusal becomes the error the API maps to a status.
    if (decision.outcome !== "routed") {
      this.deps.observer?.finished("denied", (this.#now() - started) / 1000);
      if (decision.outcome === "policy_error") throw decision.error;
      if (decision.budget) throw new BudgetExceededError(decision.budget, decision.id);
      throw new NoEligibleEndpointError(decision.verdicts, decision.id);
    }
    const planned = plannedAttempts(decision.plan, keys, this.deps.env);
    const verdicts = new Map(decision.verdicts.map((v) => [v.endpoint.id, v]));
    // Placeholders of this request, the same on every attempt (redact.ts).
    const redactions = new RedactionTable();
    const attempts: AttemptRecord[] = [];
    let outcome: OutcomeRecordV1["outcome"] = "failed";
    let endpointUsed: ResolvedEndpoint | undefined;
    let usage: CostedUsage | undefined;
    let ttftMs: number | undefined;
    let errorClass: string | null = null;
    let unapplied: string[] = [];
    let completionChunks = 0;
    try {
      for (let i = 0; i < planned.length; i++) {
        const { endpoint, apiKey, credential } = planned[i]!;
        const attemptStart = this.#now();
        const adapter = this.deps.adapters[endpoint.api];
        const it = adapter
          ? this.#obliged(verdicts.get(endpoint.id), req, redactions, (sent) =>
              adapter.stream({ baseUrl: endpoint.baseUrl, apiKey }, toUpstreamRequest(sent, endpoint), {
                ...this.deps.timeouts,
                signal,
                requestId: decision.id,
              }),
            )[Symbol.asyncIterator]()
          : undefined;
        const head: UpstreamEvent[] = [];
        let firstTokenAt: number | undefined;
        try {
          if (!it) throw new UpstreamError("protocol", `no adapter for api ${endpoint.api}`);
          // Hold the route back until the first token: until then another endpoint may still serve.
          for (;;) {
            const r = await it.next();
            if (r.done) break;
            head.push(r.value);
            const v = r.value;
            if (v.type === "finish" || v.content || v.toolCalls?.length || v.reasoning || v.refusal) break;
          }
          firstTokenAt = this.#now();
        } catch (err) {
          const ue = asUpstreamError(err);
          attempts.push(attempt(endpoint, attemptStart, this.#now(), ue));
          this.#observeFailure(endpoint, ue, this.#now() - attemptStart, credential);
          const next = afterFailedAttempt(ue, i + 1 < planned.length, attempts, decision.id);
          if (next === "next") continue;
          errorClass = next.errorClass;
          throw next.error;
        }

        endpointUsed = endpoint;
        ttftMs = firstTokenAt - started;
        unapplied = unappliedParameters(endpoint, req);
        yield {
          type: "route",
          decisionId: decision.id,
          endpoint,
          attempt: i + 1,
          unappliedParameters: unapplied,
        };
        try {
          for (const ev of head) {
            if (ev.type === "delta") completionChunks++;
            const out = this.#toEvent(ev, endpoint, req);
            if (out.type === "finish") usage = out.usage;
            yield out;
          }
          if (!usage) {
            for (;;) {
              const r = await it!.next();
              if (r.done) break;
              if (r.value.type === "delta") completionChunks++;
              const out = this.#toEvent(r.value, endpoint, req);
              if (out.type === "finish") usage = out.usage;
              yield out;
            }
          }
        } catch (err) {
          const ue = asUpstreamError(err);
          attempts.push(attempt(endpoint, attemptStart, this.#now(), ue));
          this.#observeFailure(endpoint, ue, this.#now() - attemptStart, credential);
          errorClass = ue.errorClass;
          if (ue.errorClass === "aborted") throw ue;
          throw new StreamInterruptedError(ue.errorClass, decision.id);
        } finally {
          await it?.return?.();
        }
        const end = this.#now();
        attempts.push(attempt(endpoint, attemptStart, end));
        const tokens = usage?.completionTokens ?? completionChunks;
        this.deps.health.recordSuccess(endpoint.id, {
          ttftMs: firstTokenAt - attemptStart,
          tokens,
          generationMs: end - firstTokenAt,
        });
        this.deps.stats?.record(endpoint.id, {
          ok: true,
          ttftMs: firstTokenAt - attemptStart,
          tokens,
          durationMs: end - attemptStart,
        });
        outcome = "success";
        return;
      }
    } finally {
      // The caller left mid-stream (generator closed early): that is an abort, not a success.
      if (outcome !== "success" && errorClass === null && endpointUsed) errorClass = "aborted";
      const record = outcomeRecord({
        decisionId: decision.id,
        tenant: principal.tenant,
        nowMs: this.#now(),
        startedMs: started,
        outcome,
        attempts,
        endpointUsed,
        usage,
        unapplied,
        ttftMs,
        errorClass,
      });
      // The outcome is appended without holding the caller; failures surface in metrics/logs.
      // It settles the reservation, if one was taken, from what is known of the usage.
      const settle = held ? settlementOf(usage, endpointUsed, req, completionChunks) : undefined;
      this.deps.recorder.recordOutcome(record, settle).catch(() => {});
      const observer = this.deps.observer;
      if (observer) {
        for (const a of attempts) observer.attempt(a.endpoint_id, a.error_class ?? "ok");
        observer.finished(outcome, (this.#now() - started) / 1000);
      }
    }
  }

  /**
   * Routes an embeddings request (routing/embed.ts): the same decision, durable record, plan
   * and failover as {@link stream}, with `operation: "embedding"` and the inputs as messages.
   */
  embed(req: RouteRequest, principal: Principal, signal?: AbortSignal): Promise<EmbeddingOutcome> {
    return routeEmbedding(
      {
        deps: this.deps,
        now: this.#now,
        decide: (r, p) => this.#decide(r, p, { record: true }),
        attempts: (plan, keys) => plannedAttempts(plan, keys, this.deps.env),
        observeFailure: (e, err, ms, credential) => this.#observeFailure(e, err, ms, credential),
      },
      { ...req, operation: "embedding" },
      principal,
      signal,
    );
  }

  /**
   * The call to one endpoint under its obligations (obligations.ts): with `redact`, the
   * request leaves masked and the answer comes back with the original values.
   */
  #obliged(
    verdict: CandidateVerdict | undefined,
    req: RouteRequest,
    table: RedactionTable,
    call: (sent: RouteRequest) => AsyncIterable<UpstreamEvent>,
  ): AsyncIterable<UpstreamEvent> {
    const redact = verdict?.obligations?.redact;
    if (!redact) return call(req);
    // decide() made an endpoint with an obligation eligible only with a detector.
    const detector = this.deps.detector;
    if (!detector) throw new Error("redact obligation without a content detector");
    return unredactEvents(call(redactRequest(req, detector, redact, table)), table);
  }

  #observeFailure(
    endpoint: ResolvedEndpoint,
    err: UpstreamError,
    durationMs: number,
    credential: "byok" | "shared",
  ): void {
    // A caller going away or a bad request says nothing about the endpoint's health.
    if (err.errorClass === "aborted" || err.errorClass === "client") return;
    // Every local slot busy is load, not an outage: the endpoint stays healthy.
    if (err.errorClass === "local_saturated") return;
    // A tenant's own key being refused or over its quota is that tenant's affair, not an outage.
    if (credential === "byok" && (err.errorClass === "auth" || err.errorClass === "rate_limited")) return;
    this.deps.health.recordFailure(endpoint.id, err.retryAfterMs);
    this.deps.stats?.record(endpoint.id, { ok: false, durationMs });
  }

  #toEvent(ev: UpstreamEvent, endpoint: ResolvedEndpoint, req: RouteRequest): RouterEvent {
    if (ev.type === "delta") return ev;
    const usage: Usage = ev.usage ?? { promptTokens: estimatePromptTokens(req), completionTokens: 0 };
    return {
      type: "finish",
      finishReason: ev.finishReason,
      ...(ev.choices ? { choices: ev.choices } : {}),
      usage: { ...usage, costMicroUsd: costMicroUsd(usage, endpoint) },
    };
  }
}
