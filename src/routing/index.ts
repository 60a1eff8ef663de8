// The public face of routing/: other folders import only what is exported here.
export { AuditRecorder } from "./audit-recorder.js";
export { buildDecisionRecord, type DecisionRecordV1 } from "./decision-record.js";
export {
  type DurableRecorderOptions,
  durableRecorder,
  OUTCOME_RETRY_MS,
  retryUntilDurable,
} from "./durable-retry.js";
export {
  AllAttemptsFailedError,
  AuditUnavailableError,
  NoEligibleEndpointError,
  StreamInterruptedError,
  UnknownModelError,
  UpstreamRejectedError,
} from "./errors.js";
export { HealthTracker } from "./health.js";
export { catalogPolicyEndpoints } from "./policy-input.js";
export { Router, type RouterEvent } from "./router.js";
export type {
  CandidateVerdict,
  EndpointPerformance,
  ProviderPreferences,
  RouteRequest,
  SortBy,
} from "./types.js";
