/**
 * Where an endpoint runs, as far as routing's `prefer_local` / `local_only` and the probing of
 * local runtimes are concerned (docs/routing.md, "Local endpoints"). Decided from the catalog
 * alone — the `api` and the (interpolated) `base_url` — so a decision record's catalog revision
 * fixes it and a replay sees the same answer. No name is resolved: a host name other than
 * `localhost` is remote, whatever DNS would say (fail closed for `local_only`).
 */
import { isIP } from "node:net";
import type { ResolvedEndpoint } from "./types.js";

/**
 * True when the endpoint is served on this machine or this organisation's network: the
 * in-process runtime (`api: local`), or an OpenAI-compatible endpoint whose `base_url` host is
 * loopback (127.0.0.0/8, ::1, `localhost`, `*.localhost`) or a private address (RFC 1918:
 * 10/8, 172.16/12, 192.168/16; IPv6 unique local fc00::/7; IPv4-mapped forms of these).
 */
export function isLocalEndpoint(endpoint: Pick<ResolvedEndpoint, "api" | "baseUrl">): boolean {
  if (endpoint.api === "local") return true;
  if (endpoint.api !== "openai") return false;
  let host: string;
  try {
    host = new URL(endpoint.baseUrl).hostname;
  } catch {
    return false;
  }
  return isLocalHost(host);
}

/** A URL host name (IPv6 in brackets or not) on loopback or a private network. */
export function isLocalHost(hostname: string): boolean {
  const host = hostname.toLowerCase().replace(/^\[|\]$/g, "");
  if (host === "localhost" || host.endsWith(".localhost")) return true;
  const kind = isIP(host);
  if (kind === 4) return isLocalIpv4(host);
  if (kind === 6) return isLocalIpv6(host);
  return false;
}

function isLocalIpv4(ip: string): boolean {
  const [a, b] = ip.split(".").map(Number) as [number, number];
  return a === 127 || a === 10 || (a === 172 && b >= 16 && b <= 31) || (a === 192 && b === 168);
}

function isLocalIpv6(ip: string): boolean {
  const groups = expandIpv6(ip);
  if (!groups) return false;
  if (groups.slice(0, 7).every((g) => g === 0) && groups[7] === 1) return true; // ::1
  if ((groups[0]! & 0xfe00) === 0xfc00) return true; // fc00::/7, unique local
  // ::ffff:a.b.c.d, IPv4-mapped: the IPv4 address decides.
  if (groups.slice(0, 5).every((g) => g === 0) && groups[5] === 0xffff) {
    const v4 = [groups[6]! >> 8, groups[6]! & 0xff, groups[7]! >> 8, groups[7]! & 0xff].join(".");
    return isLocalIpv4(v4);
  }
  return false;
}

/** The eight 16-bit groups of a valid IPv6 address (`isIP` said so), a dotted tail included. */
function expandIpv6(ip: string): number[] | undefined {
  let text = ip.split("%")[0]!;
  const dotted = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (dotted) {
    const [a, b, c, d] = dotted[1]!.split(".").map(Number) as [number, number, number, number];
    text = `${text.slice(0, dotted.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head, tail] = text.split("::") as [string, string | undefined];
  const parse = (s: string) => (s === "" ? [] : s.split(":").map((g) => Number.parseInt(g, 16)));
  const h = parse(head);
  if (tail === undefined) return h.length === 8 ? h : undefined;
  const t = parse(tail);
  return [...h, ...Array<number>(8 - h.length - t.length).fill(0), ...t];
}
