import type { ResolvedEndpoint } from "../catalog/index.js";

/** Default ports (RFC 9110 §4.2): written out so `https://h` and `https://h:443` are one origin. */
const DEFAULT_PORTS: Readonly<Record<string, string>> = { "http:": "80", "https:": "443" };

export class OriginError extends Error {
  override readonly name = "OriginError";
}

/**
 * The origin a credential is bound to: `scheme://host:port` of a URL (RFC 6454 §4), with the
 * scheme and host lower-cased (WHATWG URL does that, and turns IDNs into punycode) and the
 * port always written, so equal origins compare equal as strings. Path, query and userinfo are
 * not part of it. Only http and https: a BYOK key never goes anywhere else.
 *
 * @example normalizeOrigin("HTTPS://API.Example.com/v1") === "https://api.example.com:443"
 */
export function normalizeOrigin(text: string): string {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new OriginError(`"${text}" is not a URL (expected scheme://host[:port])`);
  }
  const port = DEFAULT_PORTS[url.protocol];
  if (port === undefined) throw new OriginError(`origin must use http or https, got "${url.protocol}"`);
  if (url.hostname === "") throw new OriginError(`"${text}" has no host`);
  return `${url.protocol}//${url.hostname}:${url.port || port}`;
}

const cache = new WeakMap<ResolvedEndpoint, string>();

/** The origin of an endpoint's `base_url` (cached per resolved endpoint: snapshots are immutable). */
export function endpointOrigin(endpoint: ResolvedEndpoint): string {
  let origin = cache.get(endpoint);
  if (origin === undefined) {
    origin = normalizeOrigin(endpoint.baseUrl);
    cache.set(endpoint, origin);
  }
  return origin;
}
