export { InvalidFieldError } from "../encoding/index.js";

import { type BudgetRefusal, describeBudget } from "../budget/index.js";
import type { UpstreamErrorClass } from "../upstream/index.js";
import type { CandidateVerdict } from "./types.js";

/** No endpoint in the catalog serves the requested model (nor any fallback model). */
export class UnknownModelError extends Error {
  constructor(readonly model: string) {
    super(`unknown model ${JSON.stringify(model)}: no endpoint in the catalog serves it`);
    this.name = "UnknownModelError";
  }
}

/** Every candidate was excluded; `candidates` says why, per endpoint. */
export class NoEligibleEndpointError extends Error {
  constructor(
    readonly candidates: readonly CandidateVerdict[],
    readonly decisionId: string | undefined,
  ) {
    super(`no eligible endpoint: ${candidates.length} candidate(s), all excluded`);
    this.name = "NoEligibleEndpointError";
  }
}

export interface AttemptFailure {
  endpointId: string;
  errorClass: UpstreamErrorClass;
  status?: number;
}

/** Every attempt of the plan failed before the first token. */
export class AllAttemptsFailedError extends Error {
  constructor(
    readonly attempts: readonly AttemptFailure[],
    readonly decisionId: string,
    options?: ErrorOptions,
  ) {
    super(
      `all ${attempts.length} upstream attempt(s) failed: ${attempts.map((a) => `${a.endpointId} (${a.errorClass})`).join(", ")}`,
      options,
    );
    this.name = "AllAttemptsFailedError";
  }
}

/**
 * Every attempt found its local runtime saturated (each slot busy past the wait bound) and no
 * other endpoint was allowed — with `local_only`, none ever is. Busy, not down: retry later.
 */
export class LocalSaturatedError extends Error {
  constructor(
    readonly attempts: readonly AttemptFailure[],
    readonly decisionId: string,
  ) {
    super(
      `local_saturated: every local slot is busy (${attempts.map((a) => a.endpointId).join(", ")}); retry later`,
    );
    this.name = "LocalSaturatedError";
  }
}

/** The upstream rejected the request itself (4xx): no failover, the caller must change it. */
export class UpstreamRejectedError extends Error {
  /**
   * `adapterReason`: the adapter's own refusal (a parameter its API cannot take), raised before
   * anything was sent; our fixed text, never the request's content or a provider's error text.
   */
  constructor(
    readonly status: number,
    readonly decisionId: string,
    adapterReason?: string,
  ) {
    super(
      adapterReason === undefined
        ? `upstream rejected the request (HTTP ${status})`
        : `no endpoint of the plan could take the request: ${adapterReason}`,
    );
    this.name = "UpstreamRejectedError";
  }
}

/** The stream broke after the first token reached the caller: no failover possible. */
export class StreamInterruptedError extends Error {
  constructor(
    readonly errorClass: UpstreamErrorClass,
    readonly decisionId: string,
  ) {
    super(`upstream stream interrupted after the first token (${errorClass})`);
    this.name = "StreamInterruptedError";
  }
}

/** The decision record could not be made durable: fail closed, nothing goes upstream. */
export class AuditUnavailableError extends Error {
  constructor(options?: ErrorOptions) {
    super("decision record could not be written; request refused (fail closed)", options);
    this.name = "AuditUnavailableError";
  }
}

/**
 * The request's reservation does not fit a budget of its tenant or key: refused before anything
 * went upstream, and recorded as a denial (rule `budget`). Names the budget, never a secret.
 */
export class BudgetExceededError extends Error {
  constructor(
    readonly refusal: BudgetRefusal,
    readonly decisionId: string,
  ) {
    super(`budget exceeded: the ${describeBudget(refusal)} does not cover this request`);
    this.name = "BudgetExceededError";
  }
}
