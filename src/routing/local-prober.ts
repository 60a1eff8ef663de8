/**
 * Local runtimes discovered and health-checked (docs/routing.md, "Local endpoints"): every
 * OpenAI-compatible endpoint on a loopback or private address (catalog `isLocalEndpoint`; vLLM,
 * llama.cpp's server, LM Studio, Ollama) is probed at start and every `intervalMs`. One that
 * does not answer is `unreachable`, and routing excludes it before any attempt (stage
 * availability, rule `unreachable`) until a probe answers again. The router reads only
 * {@link LocalProber.reachability}; the decision record keeps the exclusion, so a replay needs
 * no prober.
 *
 * A probe is `GET {base_url}/models` (the OpenAI-compatible list), or `GET /api/tags` at the
 * base URL's origin for Ollama (port 11434). Any HTTP answer below 500 counts as reachable —
 * the runtime is up, even if it wants a key or lacks the path; no answer within the timeout,
 * a refused connection or a 5xx (a runtime still loading its model) is unreachable. The only
 * credential sent is the endpoint's own (`api_key_env`), to its own origin (no redirects).
 */
import { request as httpRequest } from "node:http";
import { request as httpsRequest } from "node:https";
import { type CatalogSnapshot, isLocalEndpoint, type ResolvedEndpoint } from "../catalog/index.js";
import type { Reachability } from "./types.js";

export interface LocalProberOptions {
  intervalMs: number;
  timeoutMs: number;
  /** Where `api_key_env` is looked up (the allow-listed provider keys only). */
  env: Readonly<Record<string, string | undefined>>;
  /** A runtime went up or down (ids and the probe result, never content). */
  onChange?: (endpointIds: readonly string[], now: Reachability) => void;
  now?: () => number;
}

/** Ollama's default port: its model list is `/api/tags`, not under the `/v1` base URL. */
const OLLAMA_PORT = "11434";

/** Endpoints the prober watches: OpenAI-compatible ones on this machine or network. */
export function isProbed(e: ResolvedEndpoint): boolean {
  return e.api === "openai" && isLocalEndpoint(e);
}

/** The URL a probe of `baseUrl` asks, and its path as reasons name it. */
export function probeUrl(baseUrl: string): { url: string; path: string } {
  const u = new URL(baseUrl);
  if (u.port === OLLAMA_PORT) return { url: `${u.origin}/api/tags`, path: "/api/tags" };
  return { url: `${baseUrl.replace(/\/+$/, "")}/models`, path: "/models" };
}

export class LocalProber {
  readonly #states = new Map<string, Reachability>();
  readonly #now: () => number;
  #timer: ReturnType<typeof setInterval> | undefined;
  #running: Promise<void> | undefined;

  constructor(
    private readonly catalog: { current(): CatalogSnapshot },
    private readonly o: LocalProberOptions,
  ) {
    this.#now = o.now ?? Date.now;
  }

  /** Whether probing is on (`intervalMs` > 0). */
  get enabled(): boolean {
    return this.o.intervalMs > 0;
  }

  /** What the last probe found; `unknown` for an endpoint not probed (yet). */
  reachability(endpointId: string): Reachability {
    return this.#states.get(endpointId) ?? { state: "unknown" };
  }

  /** Probes once now (awaited, so the first requests see the result), then every interval. */
  async start(): Promise<void> {
    if (this.o.intervalMs <= 0) return;
    await this.probeAll();
    this.#timer = setInterval(() => void this.probeAll(), this.o.intervalMs);
    this.#timer.unref();
  }

  stop(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
  }

  /** One round over the current catalog; a round still running is joined, not doubled. */
  probeAll(): Promise<void> {
    this.#running ??= this.#round().finally(() => {
      this.#running = undefined;
    });
    return this.#running;
  }

  async #round(): Promise<void> {
    // One probe per runtime and credential: endpoints sharing a base URL share the answer.
    const groups = new Map<string, ResolvedEndpoint[]>();
    for (const e of this.catalog.current().endpoints) {
      if (!isProbed(e)) continue;
      const key = `${probeUrl(e.baseUrl).url} ${e.apiKeyEnv ?? ""}`;
      groups.set(key, [...(groups.get(key) ?? []), e]);
    }
    const watched = new Set<string>();
    await Promise.all(
      [...groups.values()].map(async (endpoints) => {
        const result = await this.#probe(endpoints[0]!);
        const ids = endpoints.map((e) => e.id);
        for (const id of ids) watched.add(id);
        const changed = ids.filter((id) => this.#states.get(id)?.state !== result.state);
        for (const id of ids) this.#states.set(id, result);
        if (changed.length > 0) this.o.onChange?.(changed, result);
      }),
    );
    // Endpoints gone from the catalog (or no longer local) are forgotten.
    for (const id of this.#states.keys()) if (!watched.has(id)) this.#states.delete(id);
  }

  async #probe(e: ResolvedEndpoint): Promise<Reachability> {
    const { url, path } = probeUrl(e.baseUrl);
    const key = e.apiKeyEnv ? this.o.env[e.apiKeyEnv] : undefined;
    const outcome = await getStatus(url, key, this.o.timeoutMs);
    const checkedAtMs = this.#now();
    if (typeof outcome === "number" && outcome < 500) return { state: "reachable", checkedAtMs };
    const why = typeof outcome === "number" ? `answered HTTP ${outcome}` : outcome.failure;
    return { state: "unreachable", checkedAtMs, reason: `probe GET ${path}: ${why}` };
  }
}

/**
 * `GET url` on a fresh connection (`agent: false`: a pooled keep-alive socket would test an old
 * connection, not the runtime), no redirects followed; the status, or why there was none. The
 * body is not read (the list is not needed, and nothing of it is kept).
 */
function getStatus(
  url: string,
  key: string | undefined,
  timeoutMs: number,
): Promise<number | { failure: string }> {
  const u = new URL(url);
  const get = u.protocol === "https:" ? httpsRequest : httpRequest;
  return new Promise((resolve) => {
    const req = get(u, {
      method: "GET",
      agent: false,
      headers: key ? { authorization: `Bearer ${key}` } : {},
      timeout: timeoutMs,
    });
    req.on("response", (res) => {
      resolve(res.statusCode ?? 0);
      res.destroy();
    });
    req.on("timeout", () => {
      resolve({ failure: `no answer within ${timeoutMs} ms` });
      req.destroy();
    });
    req.on("error", (err) => resolve({ failure: describeFailure(err) }));
    req.end();
  });
}

/** A connection failure as a short phrase: the error code, never a URL or a body. */
function describeFailure(err: unknown): string {
  const code = (err as { code?: unknown })?.code;
  if (code === "ECONNREFUSED") return "connection refused";
  if (typeof code === "string" && /^[A-Z_]+$/.test(code)) return `connection failed (${code})`;
  return "connection failed";
}
