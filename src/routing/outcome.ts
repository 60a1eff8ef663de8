/**
 * What every routed call (chat stream, embeddings) records of its attempts and its usage: the
 * pieces of the outcome record, and the cost at catalog prices. Shared by routing/router.ts and
 * routing/embed.ts so that both surfaces record the same way.
 */
import type { ResolvedEndpoint } from "../catalog/index.js";
import type { Usage } from "../upstream/index.js";
import { UpstreamError, type UpstreamErrorClass } from "../upstream/index.js";
import type { AttemptRecord, OutcomeRecordV1 } from "./decision-record.js";
import { AllAttemptsFailedError, LocalSaturatedError, UpstreamRejectedError } from "./errors.js";

/**
 * Cost at catalog prices: USD per million tokens × tokens = micro-USD. Prompt tokens read from
 * the provider's cache are at the cached-prompt price where the catalog states one.
 */
export function costMicroUsd(u: Usage, endpoint: ResolvedEndpoint): number {
  const p = endpoint.pricing;
  const cached = Math.min(u.cachedPromptTokens ?? 0, u.promptTokens);
  return Math.round(
    (u.promptTokens - cached) * p.prompt +
      cached * (p.cachedPrompt ?? p.prompt) +
      u.completionTokens * p.completion,
  );
}

/** Usage as the outcome record carries it: the details only where the upstream reported them. */
export function usageRecord(u: Usage): NonNullable<OutcomeRecordV1["usage"]> {
  return {
    prompt_tokens: u.promptTokens,
    completion_tokens: u.completionTokens,
    ...(u.cachedPromptTokens !== undefined ? { cached_prompt_tokens: u.cachedPromptTokens } : {}),
    ...(u.cacheWritePromptTokens !== undefined
      ? { cache_write_prompt_tokens: u.cacheWritePromptTokens }
      : {}),
    ...(u.reasoningTokens !== undefined ? { reasoning_tokens: u.reasoningTokens } : {}),
    ...(u.audioPromptTokens !== undefined ? { audio_prompt_tokens: u.audioPromptTokens } : {}),
    ...(u.audioCompletionTokens !== undefined ? { audio_completion_tokens: u.audioCompletionTokens } : {}),
  };
}

export function asUpstreamError(err: unknown): UpstreamError {
  return err instanceof UpstreamError
    ? err
    : new UpstreamError("protocol", "upstream adapter failed", undefined, undefined, { cause: err });
}

export function attempt(
  endpoint: ResolvedEndpoint,
  startMs: number,
  endMs: number,
  err?: UpstreamError,
): AttemptRecord {
  return {
    endpoint_id: endpoint.id,
    started_us: Math.round(startMs * 1000),
    duration_us: Math.round((endMs - startMs) * 1000),
    status: err?.status ?? (err ? null : 200),
    error_class: (err?.errorClass ?? null) as UpstreamErrorClass | null,
  };
}

/** What a routed call knows when it ends: the outcome record is built from it (outcomeRecord). */
export interface CallEnd {
  decisionId: string;
  tenant: string;
  nowMs: number;
  startedMs: number;
  outcome: OutcomeRecordV1["outcome"];
  attempts: AttemptRecord[];
  endpointUsed: ResolvedEndpoint | undefined;
  usage: (Usage & { costMicroUsd: number }) | undefined;
  unapplied: readonly string[];
  ttftMs: number | undefined;
  errorClass: string | null;
}

/** The outcome record (format v2) of one routed call; the log sets its tenant_seq. */
export function outcomeRecord(e: CallEnd): OutcomeRecordV1 {
  return {
    v: 2,
    kind: "outcome",
    decision_id: e.decisionId,
    // v2: the outcome counts in its tenant's sequence (tenant_seq is set by the log).
    tenant: e.tenant,
    time_us: e.nowMs * 1000,
    outcome: e.outcome,
    attempts: e.attempts,
    endpoint_used: e.endpointUsed?.id ?? null,
    usage: e.usage ? usageRecord(e.usage) : null,
    ...(e.unapplied.length > 0 ? { unapplied_parameters: [...e.unapplied] } : {}),
    cost_micro_usd: e.usage?.costMicroUsd ?? 0,
    latency_us: Math.round((e.nowMs - e.startedMs) * 1000),
    ttft_us: e.ttftMs === undefined ? null : Math.round(e.ttftMs * 1000),
    error_class: e.errorClass,
  };
}

/**
 * What follows a failed attempt (already in `attempts`) before anything reached the caller:
 * `"next"` — try the next planned attempt — or the error that ends the call, with the error
 * class its outcome record names. An abort ends it; a request the upstream refused (4xx) ends
 * it, but one the adapter itself could not translate (no status: nothing was sent) goes on to
 * the next endpoint, whose API may take it; anything else fails over, and after the last
 * attempt the call fails naming every attempt — as local saturation (retry later) when every
 * attempt was a busy local runtime.
 */
export function afterFailedAttempt(
  ue: UpstreamError,
  more: boolean,
  attempts: readonly AttemptRecord[],
  decisionId: string,
): "next" | { error: Error; errorClass: string } {
  if (ue.errorClass === "aborted") return { error: ue, errorClass: "aborted" };
  if (ue.errorClass === "client") {
    if (ue.status === undefined && more) return "next";
    const reason = ue.status === undefined ? ue.message : undefined;
    return { error: new UpstreamRejectedError(ue.status ?? 400, decisionId, reason), errorClass: "client" };
  }
  if (more) return "next";
  const failures = attempts.map((a) => ({
    endpointId: a.endpoint_id,
    errorClass: a.error_class as UpstreamErrorClass,
    status: a.status ?? undefined,
  }));
  const error = failures.every((f) => f.errorClass === "local_saturated")
    ? new LocalSaturatedError(failures, decisionId)
    : new AllAttemptsFailedError(failures, decisionId);
  return { error, errorClass: ue.errorClass };
}
