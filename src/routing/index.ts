// The public face of routing/: other folders import only what is exported here.

export { adminActorOf } from "./admin-actor.js";
export { AuditRecorder } from "./audit-recorder.js";
export { asRecordedBudgetDenial, budgetDeniedRecord } from "./budget-hold.js";
export { labelsFromRecord, labelsToRecord, scanContent } from "./content-labels.js";
export { candidatesFor, type Decision, type DecisionInputs, decide } from "./decide.js";
export { buildDecisionRecord, type DecisionRecordV1 } from "./decision-record.js";
export {
  type DurableRecorderOptions,
  durableRecorder,
  OUTCOME_RETRY_MS,
  retryUntilDurable,
} from "./durable-retry.js";
export type { EmbeddingOutcome } from "./embed.js";
export {
  AllAttemptsFailedError,
  AuditUnavailableError,
  BudgetExceededError,
  InvalidFieldError,
  LocalSaturatedError,
  NoEligibleEndpointError,
  receiptOf,
  StreamInterruptedError,
  UnknownModelError,
  UpstreamRejectedError,
} from "./errors.js";
export { HealthTracker } from "./health.js";
export { KeyScopeError } from "./key-scope.js";
export { isProbed, LocalProber, type LocalProberOptions, probeUrl } from "./local-prober.js";
export { catalogPolicyEndpoints } from "./policy-input.js";
export {
  preferencesFromJson,
  preferencesFromProto,
  preferencesFromRecord,
  preferencesToJson,
  preferencesToProto,
  preferencesToRecord,
} from "./preferences-codec.js";
export { seededRng } from "./rng.js";
export {
  type DecisionRecorder,
  type RecordedDecision,
  Router,
  type RouterDeps,
  type RouterEvent,
} from "./router.js";
export {
  estimateTokens,
  type TokenCharge,
  type TokenGate,
  TokenLimitedRouter,
  type TokenSubject,
} from "./token-gate.js";
export type {
  CandidateVerdict,
  ContentDetector,
  ContentLabels,
  EndpointPerformance,
  ProviderPreferences,
  Reachability,
  RouteRequest,
  SortBy,
} from "./types.js";
