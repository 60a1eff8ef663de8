/** The catalog (docs/architecture.md §4): what each endpoint does with data, with evidence, worst case when unknown. */
export type {
  CatalogApplied,
  CatalogChange,
  CatalogGate,
  CatalogRelay,
  StoredRevision,
} from "./catalog-store.js";
export { getRevision, LiveCatalog, readCatalogFiles, saveRevision } from "./catalog-store.js";
export type { ValidateResult } from "./cli.js";
export { formatIssue, renderEndpointTable, validateCatalogDir } from "./cli.js";
export {
  COUNTRY_CODES,
  EEA_COUNTRY_CODES,
  EU_COUNTRY_CODES,
  isCountryCode,
  REGION_SETS,
  regionSetCountries,
} from "./countries.js";
export type { Env, Interpolation } from "./env-interpolation.js";
export { interpolateEnv } from "./env-interpolation.js";
export type { CatalogIssue } from "./errors.js";
export { CatalogNotFoundError, CatalogValidationError, PageTokenError } from "./errors.js";
export type { EndpointFilter, Page, PageRequest } from "./filters.js";
export {
  DEFAULT_PAGE_SIZE,
  decodePageToken,
  encodePageToken,
  filterEndpoints,
  isZeroDataRetention,
  MAX_PAGE_SIZE,
  matchesFilter,
  paginate,
  queryFingerprint,
} from "./filters.js";
export type { CatalogFile, LoadOptions } from "./loader.js";
export { formatPath, loadCatalogDir, normalizeSource, parseCatalogFiles } from "./loader.js";
export type { LocalModel, LocalModelSidecar } from "./local-models.js";
export {
  LOCAL_CONTEXT_SIZE,
  LOCAL_SUPPORTED_PARAMETERS,
  localModelSidecarSchema,
  localProviderSource,
  localRuntimeName,
  readLocalModels,
  regionOf,
} from "./local-models.js";
export { isLocalEndpoint, isLocalHost } from "./locality.js";
export type { ResolveOptions } from "./resolve.js";
export {
  ASSUMED_POLICY,
  buildSnapshot,
  canonicalCatalog,
  catalogRevision,
  resolveEndpoint,
  resolvePolicy,
  snapshotFromCanonical,
  statedPolicy,
} from "./resolve.js";
export type {
  CatalogSource,
  EndpointSource,
  EvidenceSource,
  PolicyFact,
  ProviderSource,
} from "./schema.js";
export { catalogSourceSchema, LOCAL_PROVIDER, POLICY_FACTS, providerSchema } from "./schema.js";
export type { EndpointStats, StatsSample, StatsTrackerOptions } from "./stats.js";
export { EndpointStatsTracker } from "./stats.js";
export type {
  Attribute,
  AttributeSource,
  Caching,
  CatalogSnapshot,
  EffectivePolicy,
  Evidence,
  PolicyFactName,
  Pricing,
  Residency,
  ResolvedEndpoint,
  ResolvedProvider,
  StatedPolicy,
} from "./types.js";
export type { AppliedSnapshot, CatalogDiff } from "./watch.js";
export { diffSnapshots, watchSnapshots } from "./watch.js";
export { watchCatalogDir } from "./watch-dir.js";
