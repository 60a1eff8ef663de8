import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import type { CatalogSnapshot, ResolvedEndpoint } from "../catalog/index.js";
import { LocalProber, probeUrl } from "./local-prober.js";

/** A runtime answering every request with `status`, recording paths and headers. */
async function runtime(status: number) {
  const seen: { path: string; headers: IncomingHttpHeaders }[] = [];
  const server: Server = createServer((req, res) => {
    seen.push({ path: req.url ?? "", headers: req.headers });
    res.writeHead(status).end("{}");
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  servers.push(server);
  return { seen, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}
const servers: Server[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) await new Promise((r) => s.close(r));
});

const ep = (id: string, baseUrl: string, extra: Partial<ResolvedEndpoint> = {}) =>
  ({ id, api: "openai", baseUrl, ...extra }) as ResolvedEndpoint;
const catalogOf = (endpoints: ResolvedEndpoint[]) => ({
  current: () => ({ endpoints }) as unknown as CatalogSnapshot,
});

describe("LocalProber", () => {
  it("probes GET {base_url}/models, or Ollama's /api/tags on port 11434", () => {
    expect(probeUrl("http://127.0.0.1:8000/v1/")).toEqual({
      url: "http://127.0.0.1:8000/v1/models",
      path: "/models",
    });
    expect(probeUrl("http://127.0.0.1:11434/v1")).toEqual({
      url: "http://127.0.0.1:11434/api/tags",
      path: "/api/tags",
    });
  });

  it("any answer below 500 is reachable; 5xx and no answer are unreachable; remote endpoints are not probed", async () => {
    const ok = await runtime(404);
    const loading = await runtime(503);
    const prober = new LocalProber(
      catalogOf([
        ep("a/one", `${ok.url}/v1`, { apiKeyEnv: "A_KEY" }),
        ep("a/two", `${ok.url}/v1`, { apiKeyEnv: "A_KEY" }),
        ep("b/one", `${loading.url}/v1`),
        ep("c/remote", "https://api.example.com/v1"),
        ep("d/anthropic", `${ok.url}/v1`, { api: "anthropic" }),
      ]),
      { intervalMs: 0, timeoutMs: 2000, env: { A_KEY: "own-key", B_KEY: "other" } },
    );
    await prober.probeAll();
    expect(prober.reachability("a/one").state).toBe("reachable");
    expect(prober.reachability("a/two").state).toBe("reachable");
    expect(prober.reachability("b/one")).toMatchObject({
      state: "unreachable",
      reason: "probe GET /models: answered HTTP 503",
    });
    expect(prober.reachability("c/remote")).toEqual({ state: "unknown" });
    // One probe per runtime and credential, carrying the endpoint's own key only.
    expect(ok.seen.map((s) => [s.path, s.headers.authorization])).toEqual([["/v1/models", "Bearer own-key"]]);
    expect(loading.seen.map((s) => s.headers.authorization)).toEqual([undefined]);
  });

  it("a closed port is unreachable (connection refused)", async () => {
    const gone = await runtime(200);
    await new Promise((r) => servers.pop()!.close(r));
    const prober = new LocalProber(catalogOf([ep("a/one", `${gone.url}/v1`)]), {
      intervalMs: 0,
      timeoutMs: 2000,
      env: {},
    });
    await prober.probeAll();
    expect(prober.reachability("a/one")).toMatchObject({
      state: "unreachable",
      reason: "probe GET /models: connection refused",
    });
  });
});
