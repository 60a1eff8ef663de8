/**
 * The one codec of the routing preferences (OpenRouter's `provider` object): every boundary
 * they cross has its decode/encode pair here, so a field added to one cannot be forgotten in
 * another without `preferences-codec.test.ts` failing (it walks the proto descriptor).
 *
 *   proto `ProviderPreferences` ──fromProto──▶ internal {@link ProviderPreferences} ◀──fromJson── HTTP body
 *                                ◀──toProto───            │        ──toJson──▶ policy input
 *                                                toRecord │ ▲ fromRecord (replay input)
 *                                                         ▼ │
 *                                       decision record (integers only)
 *
 * Field checks here are about shape (types, enum values); ranges and list sizes are the
 * request limits (`validateRouteRequest`), applied once to the whole request afterwards.
 */
import { create } from "@bufbuild/protobuf";
import { bool, check, isObject, type JsonObject, num, strList } from "../encoding/index.js";
import {
  DataCollection,
  type ProviderPreferences as ProtoPreferences,
  SortBy as ProtoSortBy,
  ProviderPreferencesSchema,
  SortPartition,
} from "../gen/sovereign/v1/router_pb.js";
import type { ProviderPreferences, SortBy } from "./types.js";

// ---- proto (gRPC/Connect) ----

/** Enum numbers the proto declares; any other number on the wire is refused, not ignored. */
const SORT_BY: Partial<Record<number, SortBy>> = {
  [ProtoSortBy.PRICE]: "price",
  [ProtoSortBy.THROUGHPUT]: "throughput",
  [ProtoSortBy.LATENCY]: "latency",
};
const PROTO_SORT_BY: Record<SortBy, ProtoSortBy> = {
  price: ProtoSortBy.PRICE,
  throughput: ProtoSortBy.THROUGHPUT,
  latency: ProtoSortBy.LATENCY,
};
const SORT_PARTITIONS = new Set<number>([SortPartition.UNSPECIFIED, SortPartition.MODEL, SortPartition.NONE]);
const DATA_COLLECTIONS = new Set<number>([
  DataCollection.UNSPECIFIED,
  DataCollection.ALLOW,
  DataCollection.DENY,
]);

const nonEmpty = (list: readonly string[] | undefined) => (list?.length ? list : undefined);

/** The proto message → internal preferences; unset fields are OpenRouter's defaults. */
export function preferencesFromProto(p: ProtoPreferences | undefined): ProviderPreferences {
  const sortBy = p?.sort?.by;
  check(
    sortBy === undefined || sortBy === ProtoSortBy.UNSPECIFIED || sortBy in SORT_BY,
    "provider.sort.by",
    "must be price, throughput or latency",
  );
  const partition = p?.sort?.partition;
  check(
    partition === undefined || SORT_PARTITIONS.has(partition),
    "provider.sort.partition",
    "must be model or none",
  );
  check(
    p === undefined || DATA_COLLECTIONS.has(p.dataCollection),
    "provider.data_collection",
    "must be allow or deny",
  );
  const by = sortBy === undefined ? undefined : SORT_BY[sortBy];
  return {
    allowFallbacks: p?.allowFallbacks ?? true,
    order: nonEmpty(p?.order),
    only: nonEmpty(p?.only),
    ignore: nonEmpty(p?.ignore),
    sort: by ? { by, partition: partition === SortPartition.NONE ? "none" : "model" } : undefined,
    maxPrice:
      p?.maxPrice && (p.maxPrice.prompt !== undefined || p.maxPrice.completion !== undefined)
        ? { prompt: p.maxPrice.prompt, completion: p.maxPrice.completion }
        : undefined,
    zdr: p?.zdr,
    dataCollection:
      p?.dataCollection === DataCollection.DENY
        ? "deny"
        : p?.dataCollection === DataCollection.ALLOW
          ? "allow"
          : undefined,
    requireParameters: p?.requireParameters,
    quantizations: nonEmpty(p?.quantizations),
    preferredMinThroughput: p?.preferredMinThroughput,
    preferredMaxLatency: p?.preferredMaxLatency,
    preferLocal: p?.preferLocal,
    localOnly: p?.localOnly,
  };
}

/** Internal preferences → the proto message (defaults left unset, as a client would send them). */
export function preferencesToProto(p: ProviderPreferences): ProtoPreferences {
  return create(ProviderPreferencesSchema, {
    order: [...(p.order ?? [])],
    allowFallbacks: p.allowFallbacks ? undefined : false,
    only: [...(p.only ?? [])],
    ignore: [...(p.ignore ?? [])],
    sort: p.sort
      ? {
          by: PROTO_SORT_BY[p.sort.by],
          partition: p.sort.partition === "none" ? SortPartition.NONE : SortPartition.MODEL,
        }
      : undefined,
    maxPrice: p.maxPrice ? { prompt: p.maxPrice.prompt, completion: p.maxPrice.completion } : undefined,
    zdr: p.zdr,
    dataCollection:
      p.dataCollection === "deny"
        ? DataCollection.DENY
        : p.dataCollection === "allow"
          ? DataCollection.ALLOW
          : DataCollection.UNSPECIFIED,
    requireParameters: p.requireParameters,
    quantizations: [...(p.quantizations ?? [])],
    preferredMinThroughput: p.preferredMinThroughput,
    preferredMaxLatency: p.preferredMaxLatency,
    preferLocal: p.preferLocal,
    localOnly: p.localOnly,
  });
}

// ---- OpenRouter JSON (the OpenAI-compatible body in, the policy input out) ----

/**
 * OpenRouter's soft performance preferences are a number or percentile cut-offs
 * (`{p50, p75, p90, p99}`); the router keeps rolling means, so the tightest given cut-off is
 * compared with the mean.
 */
function softPreference(
  v: unknown,
  field: string,
  tightest: (a: number, b: number) => number,
): number | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v === "number") return num(v, field);
  check(isObject(v), field, "must be a number or an object of percentiles (p50, p75, p90, p99)");
  const values = Object.entries(v).map(([k, x]) => {
    check(
      ["p50", "p75", "p90", "p99"].includes(k),
      `${field}.${k.slice(0, 16)}`,
      "must be p50, p75, p90 or p99",
    );
    return num(x, `${field}.${k}`)!;
  });
  // Not `reduce(Math.min)`: reduce passes the index and array too, and Math.min of those is NaN.
  return values.length > 0 ? values.reduce((a, b) => tightest(a, b)) : undefined;
}

const SORTS = new Set(["price", "throughput", "latency"]);

/** The `provider` object of an OpenAI-compatible body (OpenRouter's names) → internal. */
export function preferencesFromJson(v: unknown): ProviderPreferences {
  if (v === undefined || v === null) return { allowFallbacks: true };
  check(isObject(v), "provider", "must be an object");
  let sort: ProviderPreferences["sort"];
  if (v.sort !== undefined && v.sort !== null) {
    const by = isObject(v.sort) ? v.sort.by : v.sort;
    const field = isObject(v.sort) ? "provider.sort.by" : "provider.sort";
    check(typeof by === "string" && SORTS.has(by), field, "must be price, throughput or latency");
    const partition = isObject(v.sort) ? (v.sort.partition ?? "model") : "model";
    check(partition === "model" || partition === "none", "provider.sort.partition", "must be model or none");
    sort = { by: by as SortBy, partition };
  }
  let maxPrice: ProviderPreferences["maxPrice"];
  if (v.max_price !== undefined && v.max_price !== null) {
    check(isObject(v.max_price), "provider.max_price", "must be an object {prompt, completion}");
    const prompt = num(v.max_price.prompt, "provider.max_price.prompt");
    const completion = num(v.max_price.completion, "provider.max_price.completion");
    if (prompt !== undefined || completion !== undefined) maxPrice = { prompt, completion };
  }
  const dc = v.data_collection;
  if (dc !== undefined && dc !== null)
    check(typeof dc === "string", "provider.data_collection", "must be a string");
  check(
    dc === undefined || dc === null || dc === "allow" || dc === "deny",
    "provider.data_collection",
    "must be allow or deny",
  );
  return {
    order: strList(v.order, "provider.order"),
    allowFallbacks: bool(v.allow_fallbacks, "provider.allow_fallbacks") ?? true,
    only: strList(v.only, "provider.only"),
    ignore: strList(v.ignore, "provider.ignore"),
    sort,
    maxPrice,
    zdr: bool(v.zdr, "provider.zdr"),
    dataCollection: (dc ?? undefined) as "allow" | "deny" | undefined,
    requireParameters: bool(v.require_parameters, "provider.require_parameters"),
    quantizations: strList(v.quantizations, "provider.quantizations"),
    preferredMinThroughput: softPreference(
      v.preferred_min_throughput,
      "provider.preferred_min_throughput",
      Math.max,
    ),
    preferredMaxLatency: softPreference(v.preferred_max_latency, "provider.preferred_max_latency", Math.min),
    preferLocal: bool(v.prefer_local, "provider.prefer_local"),
    localOnly: bool(v.local_only, "provider.local_only"),
  };
}

/** Internal → OpenRouter's names and units: what the policy input carries. */
export function preferencesToJson(p: ProviderPreferences): JsonObject {
  const out: JsonObject = { allow_fallbacks: p.allowFallbacks };
  if (p.order?.length) out.order = [...p.order];
  if (p.only?.length) out.only = [...p.only];
  if (p.ignore?.length) out.ignore = [...p.ignore];
  if (p.sort) out.sort = { by: p.sort.by, partition: p.sort.partition };
  if (p.maxPrice) {
    const mp: Record<string, number> = {};
    if (p.maxPrice.prompt !== undefined) mp.prompt = p.maxPrice.prompt;
    if (p.maxPrice.completion !== undefined) mp.completion = p.maxPrice.completion;
    out.max_price = mp;
  }
  if (p.zdr !== undefined) out.zdr = p.zdr;
  if (p.dataCollection) out.data_collection = p.dataCollection;
  if (p.requireParameters !== undefined) out.require_parameters = p.requireParameters;
  if (p.quantizations?.length) out.quantizations = [...p.quantizations];
  if (p.preferredMinThroughput !== undefined) out.preferred_min_throughput = p.preferredMinThroughput;
  if (p.preferredMaxLatency !== undefined) out.preferred_max_latency = p.preferredMaxLatency;
  if (p.preferLocal !== undefined) out.prefer_local = p.preferLocal;
  if (p.localOnly !== undefined) out.local_only = p.localOnly;
  return out;
}

// ---- decision record (signed, integers only) and back (the replay input) ----

/**
 * Internal → the record's `request.provider`: like {@link preferencesToJson} but integers
 * only — prices in micro-USD per million tokens, latency in ms, throughput in milli-tokens/s.
 */
export function preferencesToRecord(p: ProviderPreferences): JsonObject {
  const { max_price, preferred_max_latency, preferred_min_throughput, ...rest } = preferencesToJson(p);
  const out: JsonObject = { ...rest };
  const micro = (x: number) => Math.round(x * 1_000_000);
  if (p.maxPrice && max_price) {
    out.max_price_micro_usd = {
      ...(p.maxPrice.prompt !== undefined ? { prompt: micro(p.maxPrice.prompt) } : {}),
      ...(p.maxPrice.completion !== undefined ? { completion: micro(p.maxPrice.completion) } : {}),
    };
  }
  if (preferred_max_latency !== undefined)
    out.preferred_max_latency_ms = Math.round((preferred_max_latency as number) * 1000);
  if (preferred_min_throughput !== undefined)
    out.preferred_min_throughput_milli = Math.round((preferred_min_throughput as number) * 1000);
  return out;
}

/** A record's `request.provider` → internal: the replay's input (a record is trusted, not parsed). */
export function preferencesFromRecord(r: Readonly<Record<string, unknown>>): ProviderPreferences {
  const strings = (v: unknown) => (Array.isArray(v) ? (v as string[]) : undefined);
  const out: ProviderPreferences = { allowFallbacks: r.allow_fallbacks !== false };
  if (strings(r.order)) out.order = strings(r.order);
  if (strings(r.only)) out.only = strings(r.only);
  if (strings(r.ignore)) out.ignore = strings(r.ignore);
  if (isObject(r.sort)) {
    const s = r.sort as { by: SortBy; partition: "model" | "none" };
    out.sort = { by: s.by, partition: s.partition };
  }
  const mp = r.max_price_micro_usd as { prompt?: number; completion?: number } | undefined;
  if (mp) {
    out.maxPrice = {
      ...(mp.prompt !== undefined ? { prompt: mp.prompt / 1_000_000 } : {}),
      ...(mp.completion !== undefined ? { completion: mp.completion / 1_000_000 } : {}),
    };
  }
  if (typeof r.zdr === "boolean") out.zdr = r.zdr;
  if (r.data_collection === "allow" || r.data_collection === "deny") out.dataCollection = r.data_collection;
  if (typeof r.require_parameters === "boolean") out.requireParameters = r.require_parameters;
  if (strings(r.quantizations)) out.quantizations = strings(r.quantizations);
  if (typeof r.preferred_min_throughput_milli === "number")
    out.preferredMinThroughput = r.preferred_min_throughput_milli / 1000;
  if (typeof r.preferred_max_latency_ms === "number")
    out.preferredMaxLatency = r.preferred_max_latency_ms / 1000;
  if (typeof r.prefer_local === "boolean") out.preferLocal = r.prefer_local;
  if (typeof r.local_only === "boolean") out.localOnly = r.local_only;
  return out;
}
