import { create } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import {
  AdminRecordError,
  AuditNotFoundError,
  JournalError,
  LogIntegrityError,
  RECEIPT_HEADER,
  ReplayUnavailableError,
} from "../../audit/index.js";
import { AuthError, ByokAccessError, ByokError, ByokNotFoundError } from "../../auth/index.js";
import { BudgetAccessError, BudgetKeyNotFoundError } from "../../budget/index.js";
import { CatalogNotFoundError, CatalogValidationError } from "../../catalog/index.js";
import { CatalogIssueSchema } from "../../gen/sovereign/v1/catalog_pb.js";
import { ExclusionStage, NoEligibleEndpointSchema } from "../../gen/sovereign/v1/router_pb.js";
import { PolicyBundleError, PolicyEvaluationError, PolicyUnavailableError } from "../../policy/index.js";
import type { CandidateVerdict } from "../../routing/index.js";
import {
  AllAttemptsFailedError,
  AuditUnavailableError,
  BudgetExceededError,
  InvalidFieldError,
  KeyScopeError,
  LocalSaturatedError,
  NoEligibleEndpointError,
  receiptOf,
  StreamInterruptedError,
  UnknownModelError,
  UpstreamRejectedError,
} from "../../routing/index.js";
import { UpstreamError } from "../../upstream/index.js";

// Defined beside the request it validates (the preferences codec throws it too); re-exported
// here, where the API layer has always imported it from.
export { InvalidFieldError };

const STAGES = {
  policy: ExclusionStage.POLICY,
  filter: ExclusionStage.FILTER,
  availability: ExclusionStage.AVAILABILITY,
} as const;

export function candidateMessages(verdicts: readonly CandidateVerdict[]) {
  return verdicts.map((v) => ({
    endpointId: v.endpoint.id,
    model: v.endpoint.model,
    eligible: v.eligible,
    exclusions: v.exclusions.map((e) => ({ stage: STAGES[e.stage], rule: e.rule, reason: e.reason })),
    weight: v.weight,
    unhealthy: v.performance.unhealthy,
  }));
}

/**
 * The one place domain errors become RPC statuses. Messages name fields, rules and endpoints,
 * never request content. `cause` is kept for the server log.
 */
export function toConnectError(err: unknown): ConnectError {
  if (err instanceof ConnectError) return err;
  // The caller sent something malformed: they must fix the named field.
  if (err instanceof InvalidFieldError)
    return new ConnectError(err.message, Code.InvalidArgument, undefined, undefined, err);
  // Nothing in the catalog serves the model: the resource does not exist.
  if (err instanceof UnknownModelError)
    return new ConnectError(err.message, Code.NotFound, undefined, undefined, err);
  // The key may not use this model: authenticated, but not permitted (the field is named).
  if (err instanceof KeyScopeError)
    return new ConnectError(err.message, Code.PermissionDenied, undefined, undefined, err);
  // Every candidate excluded: the system is not in a state to serve this request; details say why.
  if (err instanceof NoEligibleEndpointError) {
    const detail = create(NoEligibleEndpointSchema, { candidates: candidateMessages(err.candidates) });
    const why = err.candidates
      .map((c) => `${c.endpoint.id}: ${c.exclusions.map((e) => e.reason).join("; ")}`)
      .join(" | ");
    return new ConnectError(
      `no eligible endpoint (${why})`,
      Code.FailedPrecondition,
      err.decisionId ? decisionMetadata(err as Error & { decisionId: string }) : undefined,
      [{ desc: NoEligibleEndpointSchema, value: detail }],
      err,
    );
  }
  // No valid policy loaded: fail closed until a good bundle arrives.
  if (err instanceof PolicyUnavailableError || err instanceof PolicyBundleError) {
    return new ConnectError(
      `policy unavailable: ${err.message}`,
      Code.FailedPrecondition,
      undefined,
      undefined,
      err,
    );
  }
  // The policy could not decide: fail closed; retrying will not help until the policy changes.
  if (err instanceof PolicyEvaluationError) {
    return new ConnectError(
      `policy evaluation failed (${err.kind}); request refused`,
      Code.FailedPrecondition,
      undefined,
      undefined,
      err,
    );
  }
  // No durable record, no routing; transient, the caller may retry.
  if (err instanceof AuditUnavailableError)
    return new ConnectError(err.message, Code.Unavailable, undefined, undefined, err);
  // The embedded database does not take the journal's records (or the log forked under it): a
  // read that must see every acknowledged record cannot be answered now.
  if (err instanceof JournalError)
    return new ConnectError(err.message, Code.Unavailable, undefined, undefined, err);
  // Every endpoint failed before the first token: transient from the caller's view.
  if (err instanceof AllAttemptsFailedError) return withDecision(err, Code.Unavailable);
  // Every local slot busy and nothing else allowed (local_only): capacity, not an outage;
  // ResourceExhausted (HTTP 429) tells the caller to back off and retry.
  if (err instanceof LocalSaturatedError) return withDecision(err, Code.ResourceExhausted);
  // Over a budget of the tenant or key (the message names it): nothing went upstream; the
  // caller waits for the next window or an admin raises the budget. HTTP 429.
  if (err instanceof BudgetExceededError) return withDecision(err, Code.ResourceExhausted);
  // Budget administration: another tenant is PermissionDenied (as in KeyService); a key the
  // tenant does not have is NotFound, another tenant's key exactly as an unknown one.
  if (err instanceof BudgetAccessError)
    return new ConnectError(err.message, Code.PermissionDenied, undefined, undefined, err);
  if (err instanceof BudgetKeyNotFoundError)
    return new ConnectError(err.message, Code.NotFound, undefined, undefined, err);
  // The upstream rejected the request as malformed: the caller must change it.
  if (err instanceof UpstreamRejectedError) return withDecision(err, Code.InvalidArgument);
  // Broke after the first token; the partial answer was delivered, the rest is lost.
  if (err instanceof StreamInterruptedError) return withDecision(err, Code.Unavailable);
  // No or a bad key is Unauthenticated; a key without the role or for another tenant is
  // PermissionDenied; an unreachable key store is transient.
  if (err instanceof AuthError) {
    const code = {
      unauthenticated: Code.Unauthenticated,
      permission_denied: Code.PermissionDenied,
      unavailable: Code.Unavailable,
    }[err.failure];
    return new ConnectError(err.message, code, undefined, undefined, err);
  }
  if (err instanceof UpstreamError && err.errorClass === "aborted") {
    return new ConnectError("request cancelled", Code.Canceled, undefined, undefined, err);
  }
  // Bad catalog input from an admin: every issue, in the message and as CatalogIssue details.
  if (err instanceof CatalogValidationError) {
    const lines = err.issues.map(
      (i) => `${i.file}${i.line ? `:${i.line}` : ""}: ${i.path ? `${i.path}: ` : ""}${i.message}`,
    );
    const details = err.issues.map((i) => ({
      desc: CatalogIssueSchema,
      value: create(CatalogIssueSchema, {
        file: i.file,
        path: i.path,
        line: i.line ?? 0,
        message: i.message,
      }),
    }));
    const message = `catalog rejected (${lines.length} issues):\n${lines.join("\n")}`;
    return new ConnectError(message, Code.InvalidArgument, undefined, details, err);
  }
  // An endpoint or revision id that names nothing.
  if (err instanceof CatalogNotFoundError)
    return new ConnectError(err.message, Code.NotFound, undefined, undefined, err);
  // A decision id or checkpoint size the log does not hold.
  if (err instanceof AuditNotFoundError)
    return new ConnectError(err.message, Code.NotFound, undefined, undefined, err);
  // The stored bundle, catalog revision or record a replay needs is missing or does not verify.
  if (err instanceof ReplayUnavailableError)
    return new ConnectError(err.message, Code.FailedPrecondition, undefined, undefined, err);
  // A BYOK key, provider or origin the server cannot take: the admin must fix the input.
  if (err instanceof ByokError)
    return new ConnectError(err.message, Code.InvalidArgument, undefined, undefined, err);
  // Another tenant's BYOK keys: a tenant admin manages its own tenant only.
  if (err instanceof ByokAccessError)
    return new ConnectError(err.message, Code.PermissionDenied, undefined, undefined, err);
  if (err instanceof ByokNotFoundError)
    return new ConnectError(err.message, Code.NotFound, undefined, undefined, err);
  // The stored log does not add up (altered, missing or foreign rows): corruption, say so.
  if (err instanceof LogIntegrityError)
    return new ConnectError(err.message, Code.DataLoss, undefined, undefined, err);
  // The admin record of a change could not be committed: the change was not made (fail closed).
  if (err instanceof AdminRecordError)
    return new ConnectError(err.message, Code.Unavailable, undefined, undefined, err);
  return new ConnectError("internal error", Code.Internal, undefined, undefined, err);
}

/**
 * An error about a recorded decision: its id travels in `x-sovr-decision-id` for the auditor,
 * and the record's receipt, when routing attached one, in `x-sovr-receipt` (docs/audit.md §9).
 */
function withDecision(err: Error & { decisionId: string }, code: Code): ConnectError {
  return new ConnectError(err.message, code, decisionMetadata(err), undefined, err);
}

function decisionMetadata(err: Error & { decisionId: string }): Record<string, string> {
  const receipt = receiptOf(err);
  return { "x-sovr-decision-id": err.decisionId, ...(receipt ? { [RECEIPT_HEADER]: receipt } : {}) };
}
