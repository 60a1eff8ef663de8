/**
 * Pure helpers behind CatalogService.ListEndpoints: filtering on *effective* attributes, a
 * stable order, and opaque page tokens bound to the catalog revision and query they came from
 * (AIP-158: a token is only valid for the request that produced it).
 */
import { createHash } from "node:crypto";
import { canonicalize } from "../encoding/index.js";
import { PageTokenError } from "./errors.js";
import type { ResolvedEndpoint } from "./types.js";

export interface EndpointFilter {
  model?: string;
  provider?: string;
  /** Effective residency region, e.g. "eu". An unknown residency matches no region. */
  region?: string;
  /** Only zero-data-retention endpoints: retention 0 and caching not persistent (effective values). */
  zdrOnly?: boolean;
  /** USD per million tokens; each bound given must hold. */
  maxPrice?: { prompt?: number; completion?: number };
  /** USD per million tokens, prompt + completion (the price docs/architecture.md §6 weighs by). */
  maxTotalPrice?: number;
}

/**
 * Zero data retention on effective values: nothing retained and no persistent cache (docs/architecture.md §5:
 * in-memory caching is allowed, persistent caching counts as retention). Assumed values never
 * qualify, because the assumed worst case is indefinite retention.
 */
export function isZeroDataRetention(endpoint: ResolvedEndpoint): boolean {
  return endpoint.policy.retentionDays.value === 0 && endpoint.policy.caching.value !== "persistent";
}

export function matchesFilter(endpoint: ResolvedEndpoint, filter: EndpointFilter): boolean {
  if (filter.model !== undefined && endpoint.model !== filter.model) return false;
  if (filter.provider !== undefined && endpoint.provider !== filter.provider) return false;
  if (filter.region !== undefined && endpoint.policy.residency.value.region !== filter.region) return false;
  if (filter.zdrOnly === true && !isZeroDataRetention(endpoint)) return false;
  const max = filter.maxPrice;
  if (max?.prompt !== undefined && endpoint.pricing.prompt > max.prompt) return false;
  if (max?.completion !== undefined && endpoint.pricing.completion > max.completion) return false;
  if (
    filter.maxTotalPrice !== undefined &&
    endpoint.pricing.prompt + endpoint.pricing.completion > filter.maxTotalPrice
  )
    return false;
  return true;
}

/** The endpoints matching `filter`, in the stable order of ListEndpoints (by id). Does not mutate. */
export function filterEndpoints(
  endpoints: readonly ResolvedEndpoint[],
  filter: EndpointFilter = {},
): ResolvedEndpoint[] {
  return endpoints
    .filter((e) => matchesFilter(e, filter))
    .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

interface TokenPayload {
  /** offset of the next item */
  o: number;
  /** catalog revision */
  r: string;
  /** fingerprint of the query (filter + page size independent) */
  q: string;
}

/** Short fingerprint of a query, so a token cannot be replayed against another filter. */
export function queryFingerprint(query: unknown): string {
  return createHash("sha256")
    .update(canonicalize(query ?? {}))
    .digest("hex")
    .slice(0, 16);
}

export function encodePageToken(offset: number, revision: string, query: unknown = {}): string {
  const payload: TokenPayload = { o: offset, r: revision, q: queryFingerprint(query) };
  return Buffer.from(JSON.stringify(payload), "utf8").toString("base64url");
}

/**
 * The offset a token stands for. Throws {@link PageTokenError} for a malformed token, one from
 * another catalog revision (the list it paged through no longer exists) or another query.
 */
export function decodePageToken(token: string, revision: string, query: unknown = {}): number {
  let payload: unknown;
  try {
    payload = JSON.parse(Buffer.from(token, "base64url").toString("utf8"));
  } catch {
    throw new PageTokenError("malformed page token");
  }
  if (
    typeof payload !== "object" ||
    payload === null ||
    !Number.isSafeInteger((payload as TokenPayload).o) ||
    (payload as TokenPayload).o < 0 ||
    typeof (payload as TokenPayload).r !== "string" ||
    typeof (payload as TokenPayload).q !== "string"
  ) {
    throw new PageTokenError("malformed page token");
  }
  const p = payload as TokenPayload;
  if (p.r !== revision) {
    throw new PageTokenError(
      `page token belongs to catalog revision ${p.r.slice(0, 12)}, not the current one`,
    );
  }
  if (p.q !== queryFingerprint(query))
    throw new PageTokenError("page token was issued for a different query");
  return p.o;
}

export interface PageRequest {
  /** 0 or absent = default page size. */
  pageSize?: number;
  /** "" or absent = first page. */
  pageToken?: string;
  /** Revision of the catalog being listed. */
  revision: string;
  /** The filter (or whole query) the token is bound to. */
  query?: unknown;
}

export interface Page<T> {
  items: T[];
  /** "" when there are no more pages (proto3 convention). */
  nextPageToken: string;
}

export const DEFAULT_PAGE_SIZE = 50;
export const MAX_PAGE_SIZE = 500;

/** One page of `items` (already filtered and in stable order). */
export function paginate<T>(items: readonly T[], request: PageRequest): Page<T> {
  const requested = request.pageSize ?? 0;
  if (!Number.isInteger(requested) || requested < 0)
    throw new PageTokenError("page_size must not be negative");
  const size = Math.min(requested === 0 ? DEFAULT_PAGE_SIZE : requested, MAX_PAGE_SIZE);
  const offset = request.pageToken ? decodePageToken(request.pageToken, request.revision, request.query) : 0;
  const end = offset + size;
  return {
    items: items.slice(offset, end),
    nextPageToken: end < items.length ? encodePageToken(end, request.revision, request.query) : "",
  };
}
