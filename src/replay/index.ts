// The public face of replay/: other folders import only what is exported here.
export type { EndpointImpact, ImpactSummary, RuleImpact, TenantImpact } from "./impact-summary.js";
export {
  IMPACT_LIMITS,
  type ImpactDeps,
  type ImpactEvent,
  type ImpactOptions,
  policyImpact,
} from "./policy-impact.js";
export { ImpactBusyError, Replayer, type ReplayResult } from "./replay.js";
export {
  type CandidateChange,
  type DecisionChanges,
  describeChange,
  describeVerdict,
  type Verdict,
} from "./verdicts.js";
