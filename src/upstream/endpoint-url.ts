/**
 * `{baseUrl}/{path}` as a URL, parsed once per endpoint rather than per call. The URLs are
 * only read (origin, pathname, search); the cache is bounded (cleared when full) since base
 * URLs come from catalogs, which can change while the process runs.
 */
const cache = new Map<string, URL>();
const MAX_ENTRIES = 1024;

export function endpointUrl(baseUrl: string, path: string): URL {
  const key = `${baseUrl}\n${path}`;
  let url = cache.get(key);
  if (url === undefined) {
    url = new URL(`${baseUrl.replace(/\/$/, "")}/${path}`);
    if (cache.size >= MAX_ENTRIES) cache.clear();
    cache.set(key, url);
  }
  return url;
}
