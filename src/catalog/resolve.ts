/**
 * Effective policy (docs/architecture.md §4): for each data-policy attribute of an endpoint, the endpoint's own
 * value, else the provider's, else the assumed worst case. Each attribute says which it was and
 * carries the evidence of the level it came from. Also builds immutable {@link CatalogSnapshot}s,
 * whose revision is the sha256 of the canonical JSON of the source.
 */
import { createHash } from "node:crypto";
import { canonicalize } from "../encoding/index.js";
import type { Env } from "./env-interpolation.js";
import { type CatalogIssue, CatalogValidationError } from "./errors.js";
import { formatPath, normalizeSource } from "./loader.js";
import {
  type CatalogSource,
  catalogErrorMap,
  catalogSourceSchema,
  type EndpointSource,
  type EvidenceSource,
  type PolicyFact,
  type ProviderSource,
} from "./schema.js";
import type {
  Attribute,
  Caching,
  CatalogSnapshot,
  EffectivePolicy,
  Evidence,
  PolicyFactName,
  Residency,
  ResolvedEndpoint,
  ResolvedProvider,
  StatedPolicy,
} from "./types.js";

/**
 * The conservative defaults for a fact nobody established: retained indefinitely, used for
 * training, processed who knows where (matches no region), cached persistently.
 */
export const ASSUMED_POLICY: Readonly<{
  retentionDays: null;
  trainsOnData: true;
  residency: Readonly<Residency>;
  caching: "persistent";
}> = Object.freeze({
  retentionDays: null,
  trainsOnData: true,
  residency: Object.freeze({ region: null, country: null }),
  caching: "persistent",
});

export interface ResolveOptions {
  /** Environment used to decide availability (is `api_key_env` set?). Defaults to empty. */
  env?: Env;
}

type PolicyBlock = { evidence?: EvidenceSource | Partial<Record<PolicyFact, EvidenceSource>> | undefined };

/** Evidence a policy block gives for one fact: its per-fact entry, else its block-wide source. */
function blockEvidence(block: PolicyBlock | undefined, fact: PolicyFact): EvidenceSource | undefined {
  const evidence = block?.evidence;
  if (evidence === undefined) return undefined;
  return "url" in evidence
    ? (evidence as EvidenceSource)
    : (evidence as Partial<Record<PolicyFact, EvidenceSource>>)[fact];
}

function toEvidence(e: EvidenceSource | undefined): Evidence | undefined {
  if (e === undefined) return undefined;
  return Object.freeze({
    url: e.url,
    ...(e.document === undefined ? {} : { document: e.document }),
    verifiedOn: e.verified_on,
  });
}

function attribute<T>(value: T, source: Attribute<T>["source"], evidence?: EvidenceSource): Attribute<T> {
  const ev = toEvidence(evidence);
  return Object.freeze({ value, source, ...(ev === undefined ? {} : { evidence: ev }) });
}

/** endpoint value, else provider value, else assumed — with the evidence of the winning level. */
function pick<T>(
  fact: PolicyFact,
  endpoint: {
    value: T | undefined;
    block: PolicyBlock | undefined;
    evidence?: EvidenceSource | undefined;
    /** The endpoint runs in-process: its stated facts hold by construction. */
    runtime?: boolean;
  },
  provider: { value: T | undefined; block: PolicyBlock | undefined; evidence?: EvidenceSource | undefined },
  assumed: T,
): Attribute<T> {
  if (endpoint.value !== undefined) {
    const source = endpoint.runtime === true ? "runtime" : "endpoint";
    return attribute(endpoint.value, source, endpoint.evidence ?? blockEvidence(endpoint.block, fact));
  }
  if (provider.value !== undefined) {
    return attribute(provider.value, "provider", provider.evidence ?? blockEvidence(provider.block, fact));
  }
  return attribute(assumed, "assumed");
}

function residencyValue(
  r: { region?: string | undefined; country?: string | undefined } | undefined,
): Residency | undefined {
  return r === undefined
    ? undefined
    : Object.freeze({ region: r.region ?? null, country: r.country ?? null });
}

/** The effective data policy of one endpoint of one provider. */
export function resolvePolicy(provider: ProviderSource, endpoint: EndpointSource): EffectivePolicy {
  const ep = endpoint.policy;
  // A local endpoint's facts are only ever written by catalog/local-models.ts (the loader
  // refuses api local in catalog files), so they are the runtime's, not a claim.
  const runtime = endpoint.api === "local";
  const pp = provider.policy;
  return Object.freeze({
    retentionDays: pick<number | null>(
      "retention_days",
      { value: ep?.retention_days, block: ep, runtime },
      { value: pp?.retention_days, block: pp },
      ASSUMED_POLICY.retentionDays,
    ),
    trainsOnData: pick<boolean>(
      "trains_on_data",
      { value: ep?.trains_on_data, block: ep, runtime },
      { value: pp?.trains_on_data, block: pp },
      ASSUMED_POLICY.trainsOnData,
    ),
    residency: pick<Residency>(
      "residency",
      {
        value: residencyValue(endpoint.residency),
        block: ep,
        evidence: endpoint.residency?.evidence,
        runtime,
      },
      { value: residencyValue(pp?.residency), block: pp, evidence: pp?.residency?.evidence },
      ASSUMED_POLICY.residency,
    ),
    caching: pick<Caching>(
      "caching",
      { value: ep?.caching, block: ep, runtime },
      { value: pp?.caching, block: pp },
      ASSUMED_POLICY.caching,
    ),
  });
}

/** A provider's policy block as stated, with its evidence; absent facts stay absent. */
export function statedPolicy(provider: ProviderSource): StatedPolicy {
  const pp = provider.policy;
  const factEvidence: Partial<Record<PolicyFactName, Evidence>> = {};
  const blockWide = pp?.evidence !== undefined && "url" in pp.evidence ? toEvidence(pp.evidence) : undefined;
  if (pp?.evidence !== undefined && !("url" in pp.evidence)) {
    for (const [fact, e] of Object.entries(pp.evidence) as [PolicyFact, EvidenceSource | undefined][]) {
      const ev = toEvidence(e);
      if (ev !== undefined) factEvidence[fact] = ev;
    }
  }
  const residencyEvidence = toEvidence(pp?.residency?.evidence);
  if (residencyEvidence !== undefined) factEvidence.residency = residencyEvidence;
  const residency = residencyValue(pp?.residency);
  return Object.freeze({
    ...(pp?.retention_days === undefined ? {} : { retentionDays: pp.retention_days }),
    ...(pp?.trains_on_data === undefined ? {} : { trainsOnData: pp.trains_on_data }),
    ...(pp?.caching === undefined ? {} : { caching: pp.caching }),
    ...(residency === undefined ? {} : { residency }),
    ...(blockWide === undefined ? {} : { evidence: blockWide }),
    factEvidence: Object.freeze(factEvidence),
  });
}

/** Resolves one endpoint: effective policy, assumed attribute names, availability. */
export function resolveEndpoint(
  provider: ProviderSource,
  endpoint: EndpointSource,
  options: ResolveOptions = {},
): ResolvedEndpoint {
  const policy = resolvePolicy(provider, endpoint);
  const assumed = (Object.keys(policy) as (keyof EffectivePolicy)[]).filter(
    (k) => policy[k].source === "assumed",
  );
  const keyEnv = endpoint.api_key_env;
  const keySet = keyEnv === undefined || (options.env?.[keyEnv] ?? "") !== "";
  return Object.freeze({
    id: endpoint.id,
    provider: provider.provider,
    providerName: provider.name,
    providerHeadquarters: provider.headquarters ?? null,
    model: endpoint.model,
    upstreamModel: endpoint.upstream_model ?? endpoint.model,
    api: endpoint.api,
    baseUrl: endpoint.base_url,
    ...(keyEnv === undefined ? {} : { apiKeyEnv: keyEnv }),
    pricing: Object.freeze({
      prompt: endpoint.pricing.prompt,
      completion: endpoint.pricing.completion,
      ...(endpoint.pricing.cached_prompt === undefined
        ? {}
        : { cachedPrompt: endpoint.pricing.cached_prompt }),
    }),
    kind: endpoint.kind ?? "chat",
    inputModalities: Object.freeze([...(endpoint.input_modalities ?? ["text"])].sort(modalityOrder)),
    contextLength: endpoint.context_length,
    ...(endpoint.max_output_tokens === undefined ? {} : { maxOutputTokens: endpoint.max_output_tokens }),
    ...(endpoint.quantization === undefined ? {} : { quantization: endpoint.quantization }),
    supportedParameters: Object.freeze([...(endpoint.supported_parameters ?? [])]),
    ...capabilitiesEvidence(endpoint.capabilities_evidence ?? provider.capabilities_evidence),
    policy,
    assumed: Object.freeze(assumed),
    available: keySet,
    ...(keySet ? {} : { unavailableReason: `credential environment variable ${keyEnv} is not set` }),
  });
}

function capabilitiesEvidence(e: EvidenceSource | undefined): { capabilitiesEvidence?: Evidence } {
  const ev = toEvidence(e);
  return ev === undefined ? {} : { capabilitiesEvidence: ev };
}

/** Canonical JSON (RFC 8785) of a catalog source, in canonical order. */
export function canonicalCatalog(source: CatalogSource): string {
  return canonicalize(normalizeSource(source.providers));
}

/** sha256 (hex) of a canonical catalog string: the revision id. */
export function catalogRevision(canonical: string): string {
  return createHash("sha256").update(canonical, "utf8").digest("hex");
}

/**
 * Builds the immutable snapshot of a validated catalog source (see loader.ts). Same content in
 * any key or file order gives the same revision.
 */
export function buildSnapshot(source: CatalogSource, options: ResolveOptions = {}): CatalogSnapshot {
  const normalized = normalizeSource(source.providers);
  const canonical = canonicalize(normalized);
  const endpoints: ResolvedEndpoint[] = [];
  const providers: ResolvedProvider[] = [];
  for (const p of normalized.providers) {
    const resolved = p.endpoints.map((e) => resolveEndpoint(p, e, options));
    endpoints.push(...resolved);
    providers.push(
      Object.freeze({
        slug: p.provider,
        name: p.name,
        headquarters: p.headquarters ?? null,
        policy: statedPolicy(p),
        endpointIds: Object.freeze(resolved.map((e) => e.id)),
      }),
    );
  }
  endpoints.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  const byModel = new Map<string, ResolvedEndpoint[]>();
  for (const e of endpoints) {
    const list = byModel.get(e.model);
    if (list) list.push(e);
    else byModel.set(e.model, [e]);
  }
  for (const list of byModel.values()) Object.freeze(list);
  return Object.freeze({
    revision: catalogRevision(canonical),
    canonical,
    providers: Object.freeze(providers),
    endpoints: Object.freeze(endpoints),
    byId: new Map(endpoints.map((e) => [e.id, e])),
    byModel,
  });
}

/**
 * Rebuilds a snapshot from a stored canonical string (e.g. a revision row), for replay. The
 * string must be exactly the canonical form of a valid catalog, so the rebuilt snapshot has the
 * same revision as the one that was stored; anything else throws {@link CatalogValidationError}.
 */
export function snapshotFromCanonical(canonical: string, options: ResolveOptions = {}): CatalogSnapshot {
  const file = "<revision>";
  let raw: unknown;
  try {
    raw = JSON.parse(canonical);
  } catch (cause) {
    throw new CatalogValidationError([{ file, path: "", message: `not JSON: ${(cause as Error).message}` }], {
      cause,
    });
  }
  const parsed = catalogSourceSchema.safeParse(raw, { error: catalogErrorMap });
  if (!parsed.success) {
    const issues: CatalogIssue[] = parsed.error.issues.map((i) => ({
      file,
      path: formatPath(i.path),
      message: i.message,
    }));
    throw new CatalogValidationError(issues);
  }
  const snapshot = buildSnapshot(parsed.data, options);
  if (snapshot.canonical !== canonical) {
    throw new CatalogValidationError([{ file, path: "", message: "not in canonical form" }]);
  }
  return snapshot;
}

const MODALITY_ORDER = ["text", "image", "audio", "file"];
function modalityOrder(a: string, b: string): number {
  return MODALITY_ORDER.indexOf(a) - MODALITY_ORDER.indexOf(b);
}
