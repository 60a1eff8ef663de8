/**
 * Policy as code (docs/architecture.md §5): build and read OPA bundles, verify their signatures, evaluate
 * `sovereign/route` per request, hot-reload bundles.
 */
export {
  type BundleManifest,
  ENTRYPOINT,
  type PolicyBundle,
  type ReadBundleOptions,
  readBundle,
} from "./bundle.js";
export {
  type BuildPolicyBundleOptions,
  type BuiltBundle,
  type BundleFreshness,
  buildPolicyBundle,
  checkBundleFresh,
  listPolicySources,
  type SigningAlgorithm,
  sourceRevision,
} from "./bundle-build.js";
export { canonicalJson, hashBundleFile } from "./bundle-hash.js";
export { type BundleVerificationKey, verifyBundleSignature } from "./bundle-signature.js";
export {
  BundleSource,
  type BundleSourceOptions,
  type BundleSourceStats,
  type PolicyLogger,
} from "./bundle-source.js";
export { saveBundle } from "./bundle-store.js";
export { parseDecision, UNDECIDED_REASON } from "./decision.js";
export {
  PolicyEngine,
  type PolicyEngineOptions,
  type PolicyEvaluation,
  type PreparedPolicy,
} from "./engine.js";
export {
  PolicyBuildError,
  PolicyBundleError,
  PolicyError,
  PolicyEvaluationError,
  type PolicyEvaluationFailure,
  PolicyUnavailableError,
} from "./errors.js";
export { opaMissingHint, repoRoot, resolveOpaBin } from "./opa-bin.js";
export type {
  BundleRef,
  EndpointObligations,
  PolicyAttribute,
  PolicyDecision,
  PolicyEndpointInput,
  PolicyInput,
} from "./types.js";
