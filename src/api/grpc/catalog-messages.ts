/**
 * Catalog domain objects ↔ `sovereign.v1` catalog messages. The service maps outward
 * (`to*`); the CLI, a client of a running server, maps endpoints back (`fromProtoEndpoint`) so
 * it can reuse the catalog's table renderer. Absent facts stay absent in both directions:
 * an unset `days` is indefinite retention, an empty region is unknown residency.
 */
import { create, type MessageInitShape } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import type {
  Attribute,
  CatalogIssue,
  CatalogSnapshot,
  Caching as DomainCaching,
  Evidence as DomainEvidence,
  AttributeSource as DomainSource,
  EndpointStats,
  ResolvedEndpoint,
  ResolvedProvider,
  StoredRevision,
} from "../../catalog/index.js";
import { isLocalEndpoint } from "../../catalog/index.js";
import {
  AttributeSource,
  Availability,
  Caching,
  type CatalogIssueSchema,
  type CatalogRevision,
  CatalogRevisionSchema,
  type Endpoint,
  EndpointSchema,
  type Evidence,
  EvidenceSchema,
  Reachability as ProtoReachability,
  type Provider,
  ProviderSchema,
} from "../../gen/sovereign/v1/catalog_pb.js";
import type { Reachability } from "../../routing/index.js";

/** Attribute names in `EffectivePolicy.assumed`, as the proto documents them. */
const ASSUMED_NAMES: Record<string, string> = {
  retentionDays: "retention",
  trainsOnData: "training",
  residency: "residency",
  caching: "caching",
};
const ASSUMED_KEYS = Object.fromEntries(Object.entries(ASSUMED_NAMES).map(([k, v]) => [v, k]));

const SOURCES: Record<DomainSource, AttributeSource> = {
  endpoint: AttributeSource.ENDPOINT,
  provider: AttributeSource.PROVIDER,
  runtime: AttributeSource.RUNTIME,
  assumed: AttributeSource.ASSUMED,
};

const CACHING: Record<DomainCaching, Caching> = {
  none: Caching.NONE,
  in_memory: Caching.IN_MEMORY,
  persistent: Caching.PERSISTENT,
};

function toEvidence(e: DomainEvidence | undefined): MessageInitShape<typeof EvidenceSchema> | undefined {
  return e === undefined ? undefined : { url: e.url, document: e.document ?? "", verifiedOn: e.verifiedOn };
}

function sourced<T>(a: Attribute<T>) {
  return { source: SOURCES[a.source], evidence: toEvidence(a.evidence) };
}

/** Live statistics; windows without traffic leave their fields unset. */
export function toProtoStats(s: EndpointStats | undefined): MessageInitShape<typeof EndpointSchema>["stats"] {
  if (s === undefined) return { requests30m: 0n };
  return {
    uptime5m: s.uptime5m ?? undefined,
    uptime30m: s.uptime30m ?? undefined,
    ttftP50Ms: s.ttftP50Ms === null ? undefined : Math.round(s.ttftP50Ms),
    ttftP90Ms: s.ttftP90Ms === null ? undefined : Math.round(s.ttftP90Ms),
    tokensPerSecond: s.tokensPerSecond ?? undefined,
    requests30m: BigInt(s.requests30m),
  };
}

const REACHABILITY: Record<Reachability["state"], ProtoReachability> = {
  unknown: ProtoReachability.PENDING,
  reachable: ProtoReachability.REACHABLE,
  unreachable: ProtoReachability.UNREACHABLE,
};

/**
 * One endpoint with its effective policy (each attribute with source and evidence), and for a
 * probed local runtime (`probed`) what the last probe found.
 */
export function toProtoEndpoint(
  e: ResolvedEndpoint,
  stats?: EndpointStats,
  reach?: { probed: boolean; now: Reachability },
): Endpoint {
  const p = e.policy;
  return create(EndpointSchema, {
    id: e.id,
    provider: e.provider,
    model: e.model,
    api: e.api,
    baseUrl: e.baseUrl,
    apiKeyEnv: e.apiKeyEnv ?? "",
    pricing: {
      prompt: e.pricing.prompt,
      completion: e.pricing.completion,
      cachedPrompt: e.pricing.cachedPrompt,
    },
    contextLength: e.contextLength,
    quantization: e.quantization ?? "",
    supportedParameters: [...e.supportedParameters],
    policy: {
      retention: { days: p.retentionDays.value ?? undefined, ...sourced(p.retentionDays) },
      training: { trainsOnData: p.trainsOnData.value, ...sourced(p.trainsOnData) },
      residency: {
        region: p.residency.value.region ?? "",
        country: p.residency.value.country ?? "",
        ...sourced(p.residency),
      },
      caching: { caching: CACHING[p.caching.value], ...sourced(p.caching) },
      assumed: e.assumed.map((k) => ASSUMED_NAMES[k] ?? k),
    },
    availability: e.available ? Availability.AVAILABLE : Availability.UNAVAILABLE,
    unavailableReason: e.unavailableReason ?? "",
    stats: toProtoStats(stats),
    ...(e.providerHeadquarters === null ? {} : { providerHeadquarters: e.providerHeadquarters }),
    kind: e.kind,
    inputModalities: [...e.inputModalities],
    local: isLocalEndpoint(e),
    reachability: reach?.probed ? REACHABILITY[reach.now.state] : ProtoReachability.UNSPECIFIED,
    unreachableReason: reach?.probed && reach.now.state === "unreachable" ? reach.now.reason : "",
  });
}

/** A provider with its stated defaults as written (not resolved). */
export function toProtoProvider(p: ResolvedProvider): Provider {
  const s = p.policy;
  const factEvidence: Record<string, Evidence> = {};
  for (const [fact, e] of Object.entries(s.factEvidence)) {
    factEvidence[fact] = create(EvidenceSchema, toEvidence(e));
  }
  return create(ProviderSchema, {
    slug: p.slug,
    name: p.name,
    // Unknown (the local provider without SOVR_LOCATION): empty.
    headquarters: p.headquarters ?? "",
    policy: {
      retentionDays: s.retentionDays,
      trainsOnData: s.trainsOnData,
      caching: s.caching === undefined ? Caching.UNSPECIFIED : CACHING[s.caching],
      evidence: toEvidence(s.evidence),
      region: s.residency?.region ?? "",
      country: s.residency?.country ?? "",
      factEvidence,
    },
    endpointIds: [...p.endpointIds],
  });
}

/** Summary of a revision. `createdAt` is when it was first stored (unset when never stored). */
export function toProtoRevision(
  snapshot: Pick<CatalogSnapshot, "revision" | "providers" | "endpoints">,
  createdAt?: Date,
): CatalogRevision {
  return create(CatalogRevisionSchema, {
    revision: snapshot.revision,
    createdAt: createdAt === undefined ? undefined : timestampFromDate(createdAt),
    providerCount: snapshot.providers.length,
    endpointCount: snapshot.endpoints.length,
  });
}

export function toProtoStoredRevision(r: StoredRevision): CatalogRevision {
  return create(CatalogRevisionSchema, {
    revision: r.revision,
    createdAt: timestampFromDate(r.createdAt),
    providerCount: r.providerCount,
    endpointCount: r.endpointCount,
  });
}

export function toProtoIssue(i: CatalogIssue): MessageInitShape<typeof CatalogIssueSchema> {
  return { file: i.file, path: i.path, line: i.line ?? 0, message: i.message };
}

const MODALITIES = new Set<string>(["text", "image", "audio", "file"]);

function isModality(m: string): m is ResolvedEndpoint["inputModalities"][number] {
  return MODALITIES.has(m);
}

const FROM_SOURCE: Record<AttributeSource, DomainSource> = {
  [AttributeSource.ENDPOINT]: "endpoint",
  [AttributeSource.PROVIDER]: "provider",
  [AttributeSource.RUNTIME]: "runtime",
  // An unspecified source is never claimed as established: treat it as assumed.
  [AttributeSource.ASSUMED]: "assumed",
  [AttributeSource.UNSPECIFIED]: "assumed",
};

const FROM_CACHING: Record<Caching, DomainCaching> = {
  [Caching.NONE]: "none",
  [Caching.IN_MEMORY]: "in_memory",
  [Caching.PERSISTENT]: "persistent",
  // Unknown caching is the worst case.
  [Caching.UNSPECIFIED]: "persistent",
};

function fromEvidence(e: Evidence | undefined): { evidence?: DomainEvidence } {
  if (e === undefined || e.url === "") return {};
  return {
    evidence: { url: e.url, ...(e.document ? { document: e.document } : {}), verifiedOn: e.verifiedOn },
  };
}

function fromAttribute<T>(
  value: T,
  a: { source: AttributeSource; evidence?: Evidence } | undefined,
): Attribute<T> {
  return {
    value,
    source: FROM_SOURCE[a?.source ?? AttributeSource.UNSPECIFIED],
    ...fromEvidence(a?.evidence),
  };
}

/**
 * An endpoint message as the catalog's domain type, for client-side rendering. Missing parts
 * read as the worst case, never as a better fact than the server sent.
 */
export function fromProtoEndpoint(e: Endpoint): ResolvedEndpoint {
  const p = e.policy;
  return {
    id: e.id,
    provider: e.provider,
    providerName: e.provider,
    providerHeadquarters: e.providerHeadquarters,
    model: e.model,
    api: e.api,
    baseUrl: e.baseUrl,
    ...(e.apiKeyEnv ? { apiKeyEnv: e.apiKeyEnv } : {}),
    pricing: {
      prompt: e.pricing?.prompt ?? 0,
      completion: e.pricing?.completion ?? 0,
      ...(e.pricing?.cachedPrompt === undefined ? {} : { cachedPrompt: e.pricing.cachedPrompt }),
    },
    contextLength: e.contextLength,
    ...(e.quantization ? { quantization: e.quantization } : {}),
    supportedParameters: e.supportedParameters,
    // A server before these fields sent neither: its endpoints were all text chat.
    kind: e.kind === "embedding" ? "embedding" : "chat",
    inputModalities: e.inputModalities.length > 0 ? e.inputModalities.filter(isModality) : ["text"],
    policy: {
      retentionDays: fromAttribute(p?.retention?.days ?? null, p?.retention),
      trainsOnData: fromAttribute(p?.training ? p.training.trainsOnData : true, p?.training),
      residency: fromAttribute(
        { region: p?.residency?.region || null, country: p?.residency?.country || null },
        p?.residency,
      ),
      caching: fromAttribute(FROM_CACHING[p?.caching?.caching ?? Caching.UNSPECIFIED], p?.caching),
    },
    assumed: (p?.assumed ?? []).map((n) => ASSUMED_KEYS[n] ?? n),
    available: e.availability === Availability.AVAILABLE,
    ...(e.unavailableReason ? { unavailableReason: e.unavailableReason } : {}),
  };
}
