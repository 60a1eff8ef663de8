/**
 * Typed errors of the policy module. The API layer maps them in one place
 * (`toConnectError`): unavailable → FailedPrecondition, evaluation → Internal/FailedPrecondition
 * as it sees fit; both fail the request closed, never route.
 */

/** Base class so callers can catch every policy failure at once. */
export class PolicyError extends Error {
  override name = "PolicyError";
}

/** No good bundle is loaded: the router must refuse to route. */
export class PolicyUnavailableError extends PolicyError {
  override name = "PolicyUnavailableError";
  constructor(message = "no policy bundle loaded") {
    super(message);
  }
}

/** Why an evaluation failed; every kind fails the request closed. */
export type PolicyEvaluationFailure = "error" | "timeout" | "malformed" | "input";

/** The policy could not produce a usable decision for this request. */
export class PolicyEvaluationError extends PolicyError {
  override name = "PolicyEvaluationError";
  constructor(
    readonly kind: PolicyEvaluationFailure,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(`policy evaluation ${kind}: ${message}`, options);
  }
}

/** A bundle could not be read, verified or instantiated; it is never activated. */
export class PolicyBundleError extends PolicyError {
  override name = "PolicyBundleError";
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** `opa build` failed or opa is not installed. */
export class PolicyBuildError extends PolicyError {
  override name = "PolicyBuildError";
}
