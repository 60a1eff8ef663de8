/**
 * Local runtimes end to end (issue 15, items 4 and 5): a real OpenAI-compatible runtime on
 * 127.0.0.1 (a vLLM / llama.cpp server stand-in serving /v1/models and chat) and a cheaper
 * remote endpoint, through a real server, the openai SDK and gRPC. The runtime is probed at
 * start; prefer_local routes to it ahead of the cheaper remote; stopped, it is excluded
 * `unreachable` and its model leaves /v1/models; restarted, it is back; local_only with it down
 * has nothing eligible, the reasons naming the probe and the rule.
 */
import { mkdtemp, writeFile } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type DsseEnvelope, envelopePayload } from "../../src/audit/dsse.js";
import { candidateRows, type DecisionRecord } from "../../src/audit/index.js";
import { listCommand } from "../../src/cli/catalog-client.js";
import { CatalogService, Reachability } from "../../src/gen/sovereign/v1/catalog_pb.js";
import { RouterService, SortBy } from "../../src/gen/sovereign/v1/router_pb.js";
import { appDatabases, startTestApp, type TestApp } from "../support/app.js";
import { GrpcJsClient } from "../support/grpc.js";
import { sseOf } from "../support/recording-upstream.js";
import { lastDecisionId, outcomeOf } from "../support/routing-app.js";

/** A local OpenAI-compatible runtime that can be stopped and started again on its port. */
async function startLocalRuntime() {
  const seen: string[] = [];
  const sockets = new Set<Socket>();
  let server: Server | undefined;
  let port = 0;
  const listen = async () => {
    server = createServer(async (req, res) => {
      for await (const _ of req) {
        // drain
      }
      seen.push(`${req.method} ${req.url}`);
      if (req.method === "GET" && req.url === "/v1/models") {
        res.writeHead(200, { "content-type": "application/json" });
        res.end(JSON.stringify({ object: "list", data: [{ id: "tiny", object: "model" }] }));
      } else if (req.method === "POST" && req.url === "/v1/chat/completions") {
        res.writeHead(200, { "content-type": "text/event-stream" });
        res.end(sseOf({ choices: [{ content: "from the local runtime" }] }, "tiny"));
      } else res.writeHead(404).end();
    });
    server.on("connection", (s) => {
      sockets.add(s);
      s.on("close", () => sockets.delete(s));
    });
    await new Promise<void>((resolve) => server!.listen(port, "127.0.0.1", resolve));
    port = (server.address() as AddressInfo).port;
  };
  await listen();
  return {
    seen,
    get url() {
      return `http://127.0.0.1:${port}`;
    },
    start: listen,
    async stop() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server!.close(() => resolve()));
    },
  };
}

const CATALOG = `provider: local-vllm
name: Local vLLM
headquarters: DE
policy: { retention_days: 0, trains_on_data: false, caching: in_memory, residency: { region: eu, country: DE } }
endpoints:
  - id: local-vllm/tiny
    model: acme/tiny
    upstream_model: tiny
    api: openai
    base_url: \${LOCAL_RT_URL}/v1
    pricing: { prompt: 1, completion: 1 }
    context_length: 8192
    supported_parameters: [max_tokens, temperature]
  - id: local-vllm/only
    model: acme/local-only
    upstream_model: tiny
    api: openai
    base_url: \${LOCAL_RT_URL}/v1
    pricing: { prompt: 1, completion: 1 }
    context_length: 8192
---
provider: remote-cloud
name: Remote Cloud
headquarters: DE
policy: { retention_days: 0, trains_on_data: false, caching: in_memory, residency: { region: eu, country: DE } }
endpoints:
  - id: remote-cloud/tiny
    model: acme/tiny
    api: openai
    base_url: https://remote-cloud.invalid/v1
    pricing: { prompt: 0.1, completion: 0.1 }
    context_length: 8192
    supported_parameters: [max_tokens, temperature]
`;

describe.each(appDatabases)("local runtimes (%s)", (database) => {
  let t: TestApp;
  let runtime: Awaited<ReturnType<typeof startLocalRuntime>>;
  let grpc: GrpcJsClient;
  let openai: OpenAI;

  beforeAll(async () => {
    runtime = await startLocalRuntime();
    const dir = await mkdtemp(join(tmpdir(), "sovr-local-catalog-"));
    await writeFile(join(dir, "local.yaml"), CATALOG);
    t = await startTestApp({
      database,
      catalogDir: dir,
      env: {
        LOCAL_RT_URL: runtime.url,
        SOVR_CATALOG_URL_VARS: "LOCAL_RT_URL",
        SOVR_CATALOG_WATCH: "off",
        // Probed at start; the test probes again itself (probeAll) instead of waiting.
        SOVR_LOCAL_PROBE_MS: "3600000",
      },
    });
    grpc = new GrpcJsClient(t.app.grpcUrl.replace("http://", ""));
    openai = new OpenAI({ baseURL: `${t.app.httpUrl}/v1`, apiKey: "unused", maxRetries: 0 });
  });
  afterAll(async () => {
    grpc?.close();
    await t?.close();
    await runtime?.stop().catch(() => {});
  });

  const endpoints = async () =>
    (await grpc.unary(CatalogService, CatalogService.method.listEndpoints, { pageSize: 100 })).endpoints;
  const explain = async (provider: Record<string, unknown>, model = "acme/tiny") =>
    (
      await grpc.unary(RouterService, RouterService.method.explain, {
        request: { model, messages: [{ role: "user", content: "hi" }], provider },
      })
    ).decision!;
  const modelIds = async () => (await openai.models.list()).data.map((m) => m.id).sort();

  it("probes the local runtime at start: reachable, local; the remote one is not probed", async () => {
    expect(runtime.seen).toContain("GET /v1/models");
    const byId = new Map((await endpoints()).map((e) => [e.id, e]));
    expect(byId.get("local-vllm/tiny")).toMatchObject({ local: true, reachability: Reachability.REACHABLE });
    expect(byId.get("remote-cloud/tiny")).toMatchObject({
      local: false,
      reachability: Reachability.UNSPECIFIED,
    });
    // `sovr catalog list` shows it.
    const table = (await listCommand({ url: t.app.httpUrl })).stdout.join("\n");
    expect(table).toMatch(/REACHABILITY/);
    expect(table).toMatch(/local-vllm\/tiny .* reachable$/m);
    expect(table).toMatch(/remote-cloud\/tiny .* -$/m);
  });

  it("prefer_local routes to the local runtime ahead of the cheaper remote endpoint", async () => {
    const byPrice = { sort: { by: SortBy.PRICE } };
    expect((await explain(byPrice)).plan).toEqual(["remote-cloud/tiny", "local-vllm/tiny"]);
    expect((await explain({ ...byPrice, preferLocal: true })).plan).toEqual([
      "local-vllm/tiny",
      "remote-cloud/tiny",
    ]);

    const res = await openai.chat.completions
      .create({
        model: "acme/tiny",
        messages: [{ role: "user", content: "hello" }],
        // @ts-expect-error OpenRouter's provider preferences are not in the SDK's types
        provider: { sort: "price", prefer_local: true },
      })
      .withResponse();
    expect(res.data.choices[0]!.message.content).toBe("from the local runtime");
    expect(runtime.seen).toContain("POST /v1/chat/completions");
    const decisionId = res.response.headers.get("x-sovr-decision-id")!;
    const outcome = await outcomeOf(t, decisionId);
    expect(outcome.endpoint_used).toBe("local-vllm/tiny");
    expect(outcome.attempts.map((a) => a.endpoint_id)).toEqual(["local-vllm/tiny"]);
  });

  it("stopped: excluded `unreachable` before any attempt and not in /v1/models; restarted: back by itself", async () => {
    expect(await modelIds()).toEqual(["acme/local-only", "acme/tiny"]);
    await runtime.stop();
    await t.app.prober.probeAll();

    const reason = "unreachable: probe GET /models: connection refused";
    const d = await explain({ preferLocal: true });
    expect(d.plan).toEqual(["remote-cloud/tiny"]);
    expect(d.candidates.find((c) => c.endpointId === "local-vllm/tiny")!.exclusions).toMatchObject([
      { rule: "unreachable", reason },
    ]);
    expect(await modelIds()).toEqual(["acme/tiny"]);
    expect((await listCommand({ url: t.app.httpUrl })).stdout.join("\n")).toMatch(
      /local-vllm\/tiny .* unreachable \(probe GET \/models: connection refused\)$/m,
    );
    const local = (await endpoints()).find((e) => e.id === "local-vllm/tiny")!;
    expect(local).toMatchObject({
      reachability: Reachability.UNREACHABLE,
      unreachableReason: "probe GET /models: connection refused",
    });

    // local_only with the runtime down: nothing eligible, each candidate says why; no attempt.
    const err = await openai.chat.completions
      .create({
        model: "acme/tiny",
        messages: [{ role: "user", content: "hello" }],
        // @ts-expect-error OpenRouter's provider preferences are not in the SDK's types
        provider: { local_only: true },
      })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.APIError);
    expect((err as InstanceType<typeof OpenAI.APIError>).status).toBe(403);
    const gapped = await explain({ localOnly: true });
    expect(gapped.plan).toEqual([]);
    const rules = Object.fromEntries(
      gapped.candidates.map((c) => [c.endpointId, c.exclusions.map((x) => x.reason)]),
    );
    expect(rules["local-vllm/tiny"]).toEqual([reason]);
    expect(rules["remote-cloud/tiny"]).toEqual([
      "local_only: endpoint is remote: not in-process, not on a loopback or private address (source: catalog)",
    ]);

    // The denial's record keeps the exclusion, so a replay rebuilds it without a prober.
    await t.app.audit.settled();
    const row = await t.app.db.db
      .selectFrom("audit_log")
      .select("envelope")
      .where("decision_id", "=", await lastDecisionId(t))
      .where("kind", "=", "decision")
      .executeTakeFirstOrThrow();
    const record = JSON.parse(
      new TextDecoder().decode(envelopePayload(JSON.parse(row.envelope) as DsseEnvelope)),
    ) as DecisionRecord;
    expect(candidateRows(record).find((c) => c.endpoint_id === "local-vllm/tiny")!.exclusions).toEqual([
      { stage: "availability", rule: "unreachable", reason },
    ]);

    await runtime.start();
    await t.app.prober.probeAll();
    expect((await explain({ preferLocal: true })).plan[0]).toBe("local-vllm/tiny");
    expect(await modelIds()).toEqual(["acme/local-only", "acme/tiny"]);
    const back = await openai.chat.completions.create({
      model: "acme/local-only",
      messages: [{ role: "user", content: "hello" }],
    });
    expect(back.choices[0]!.message.content).toBe("from the local runtime");
  });
});
