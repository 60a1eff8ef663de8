import * as grpc from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RateLimitedError, RateLimiter } from "../../src/api/transport/rate-limit.js";
import { createApiKey } from "../../src/auth/api-keys.js";
import { loadConfig } from "../../src/config/config.js";
import type { RateLimitSettings } from "../../src/config/limits.js";
import { Health } from "../../src/gen/grpc/health/v1/health_pb.js";
import { RouterService } from "../../src/gen/sovereign/v1/router_pb.js";
import { startTestApp, type TestApp } from "../support/app.js";
import { GrpcJsClient } from "../support/grpc.js";

const OFF: RateLimitSettings = {
  keyRps: 0,
  keyBurst: 1,
  tenantRps: 0,
  tenantBurst: 1,
  maxConcurrentPerKey: 0,
  maxConcurrentPerTenant: 0,
};

function clock() {
  const c = { ms: 0, now: () => c.ms };
  return c;
}

function refusal(fn: () => unknown): RateLimitedError {
  try {
    fn();
  } catch (err) {
    if (err instanceof RateLimitedError) return err;
    throw err;
  }
  throw new Error("expected a RateLimitedError");
}

describe("RateLimiter (token buckets, fake clock)", () => {
  it("admits a burst, then refuses with the seconds until the next token, then refills", () => {
    const c = clock();
    const rl = new RateLimiter({ ...OFF, keyRps: 2, keyBurst: 3 }, { now: c.now });
    const a = { keyId: "a", tenant: "t" };
    for (let i = 0; i < 3; i++) rl.acquire(a)();
    const e = refusal(() => rl.acquire(a));
    expect(e).toMatchObject({ scope: "key", kind: "rate", retryAfterSeconds: 1 });
    expect(e.metadata.get("retry-after")).toBe("1");
    c.ms += 499; // 0.998 tokens: still refused
    refusal(() => rl.acquire(a));
    c.ms += 1; // one token
    rl.acquire(a)();
    refusal(() => rl.acquire(a));
    c.ms += 10_000; // refills to the burst, never beyond
    for (let i = 0; i < 3; i++) rl.acquire(a)();
    refusal(() => rl.acquire(a));
  });

  it("rounds Retry-After up to whole seconds for slow rates", () => {
    const c = clock();
    const rl = new RateLimiter({ ...OFF, keyRps: 0.1, keyBurst: 1 }, { now: c.now });
    rl.acquire({ keyId: "a", tenant: "t" });
    expect(refusal(() => rl.acquire({ keyId: "a", tenant: "t" })).retryAfterSeconds).toBe(10);
    c.ms += 2500;
    expect(refusal(() => rl.acquire({ keyId: "a", tenant: "t" })).retryAfterSeconds).toBe(8);
  });

  it("shares a tenant bucket across keys", () => {
    const rl = new RateLimiter(
      { ...OFF, keyRps: 1, keyBurst: 2, tenantRps: 1, tenantBurst: 3 },
      { now: () => 0 },
    );
    rl.acquire({ keyId: "a", tenant: "acme" });
    rl.acquire({ keyId: "a", tenant: "acme" });
    rl.acquire({ keyId: "b", tenant: "acme" });
    // b's own bucket has a token left, the tenant's has none.
    expect(refusal(() => rl.acquire({ keyId: "b", tenant: "acme" }))).toMatchObject({ scope: "tenant" });
    // another tenant is unaffected
    rl.acquire({ keyId: "c", tenant: "other" });
  });

  it("charges neither bucket for a refused call", () => {
    const rl = new RateLimiter(
      { ...OFF, keyRps: 1, keyBurst: 1, tenantRps: 1, tenantBurst: 2 },
      { now: () => 0 },
    );
    rl.acquire({ keyId: "a", tenant: "acme" });
    // Refused by a's bucket: the tenant must keep its second token …
    expect(refusal(() => rl.acquire({ keyId: "a", tenant: "acme" }))).toMatchObject({ scope: "key" });
    expect(refusal(() => rl.acquire({ keyId: "a", tenant: "acme" }))).toMatchObject({ scope: "key" });
    // … for b.
    rl.acquire({ keyId: "b", tenant: "acme" });
    expect(refusal(() => rl.acquire({ keyId: "c", tenant: "acme" }))).toMatchObject({ scope: "tenant" });
  });

  it("counts calls in flight per key and per tenant, and release is idempotent", () => {
    const rl = new RateLimiter({ ...OFF, maxConcurrentPerKey: 2, maxConcurrentPerTenant: 3 });
    const r1 = rl.acquire({ keyId: "a", tenant: "acme" });
    const r2 = rl.acquire({ keyId: "a", tenant: "acme" });
    expect(refusal(() => rl.acquire({ keyId: "a", tenant: "acme" }))).toMatchObject({
      scope: "key",
      kind: "concurrency",
      retryAfterSeconds: 1,
    });
    const r3 = rl.acquire({ keyId: "b", tenant: "acme" });
    expect(refusal(() => rl.acquire({ keyId: "c", tenant: "acme" }))).toMatchObject({ scope: "tenant" });
    r1();
    r1(); // a second release must not free a slot it does not hold
    rl.acquire({ keyId: "c", tenant: "acme" });
    expect(refusal(() => rl.acquire({ keyId: "a", tenant: "acme" }))).toMatchObject({ scope: "tenant" });
    r2();
    r3();
  });

  it("admits everything and holds nothing when no limit is set", () => {
    const rl = new RateLimiter(OFF);
    expect(rl.enabled).toBe(false);
    for (let i = 0; i < 1000; i++) rl.acquire({ keyId: `k${i}`, tenant: `t${i}` })();
    expect(rl.size).toBe(0);
  });

  it("keeps memory bounded: refilled idle buckets are swept, and a hard cap evicts the oldest idle", () => {
    const c = clock();
    const rl = new RateLimiter(
      { ...OFF, keyRps: 10, keyBurst: 10, maxConcurrentPerKey: 5 },
      { now: c.now, maxEntries: 1000, sweepMs: 1000 },
    );
    const held = rl.acquire({ keyId: "busy", tenant: "t" });
    for (let i = 0; i < 5000; i++) rl.acquire({ keyId: `k${i}`, tenant: "t" })();
    expect(rl.size).toBeLessThanOrEqual(1001);
    // The busy key's in-flight call kept its entry through the evictions.
    for (let i = 0; i < 4; i++) rl.acquire({ keyId: "busy", tenant: "t" });
    expect(refusal(() => rl.acquire({ keyId: "busy", tenant: "t" }))).toMatchObject({ kind: "concurrency" });
    held();
    // After the buckets refill (1 s at 10/s), one sweep drops every idle entry.
    c.ms += 2000;
    rl.acquire({ keyId: "late", tenant: "t" })();
    expect(rl.size).toBeLessThanOrEqual(3); // "busy" (4 in flight), "late", the tenant
  });

  it("reads its settings from the environment; burst defaults to two seconds' worth", () => {
    const c = loadConfig({ SOVR_RATE_LIMIT_RPS: "5", SOVR_TENANT_RATE_LIMIT_RPS: "0.2" });
    expect(c.limits).toMatchObject({ keyRps: 5, keyBurst: 10, tenantRps: 0.2, tenantBurst: 1 });
    expect(loadConfig({}).limits).toMatchObject({ keyRps: 0, tenantRps: 0, maxConcurrentPerKey: 0 });
    expect(() => loadConfig({ SOVR_RATE_LIMIT_RPS: "-1" })).toThrow(/SOVR_RATE_LIMIT_RPS/);
  });
});

const chat = { model: "sim/chat-small", region: "eu", messages: [{ role: "user", content: "hi" }] };
const chatJson = JSON.stringify(chat);

describe("rate and concurrency limits over gRPC, Connect JSON and the HTTP API", () => {
  let t: TestApp;
  let address: string;
  // Created beside the server: refresh its key table so the key works at once.
  const key = async (tenant: string) => {
    const { token } = await createApiKey(t.app.db.db, { tenant, roles: ["client"] });
    await t.app.auth.refresh();
    return token;
  };
  const upstreamCalls = () => t.simulator.stats("sim-eu").requests;

  beforeAll(async () => {
    t = await startTestApp({
      auth: true,
      env: {
        // 3 calls at once, then one every 5 s; tenants 8, then one every 10 s; 2 in flight per key.
        SOVR_RATE_LIMIT_RPS: "0.2",
        SOVR_RATE_LIMIT_BURST: "3",
        SOVR_TENANT_RATE_LIMIT_RPS: "0.1",
        SOVR_TENANT_RATE_LIMIT_BURST: "8",
        SOVR_MAX_CONCURRENT_PER_KEY: "2",
      },
    });
    address = `127.0.0.1:${t.app.servers.grpcPort}`;
  });
  afterAll(async () => {
    await t?.close();
  });

  it("gRPC: a key's burst passes, the next call is ResourceExhausted with retry-after, nothing executed", async () => {
    const client = new GrpcJsClient(address, { key: await key("grpc") });
    for (let i = 0; i < 3; i++) await client.unary(RouterService, RouterService.method.chat, chat);
    const before = upstreamCalls();
    const err = (await client
      .unary(RouterService, RouterService.method.chat, chat)
      .catch((e: unknown) => e)) as grpc.ServiceError;
    expect(err.code).toBe(grpc.status.RESOURCE_EXHAUSTED);
    expect(err.details).toMatch(/rate limit of this API key/);
    expect(Number(err.metadata.get("retry-after")[0])).toBeGreaterThanOrEqual(1);
    expect(Number(err.metadata.get("retry-after")[0])).toBeLessThanOrEqual(5);
    expect(upstreamCalls()).toBe(before);
    // Probes are never limited.
    await client.unary(Health, Health.method.check, {});
    // Another key of another tenant has its own bucket.
    const other = new GrpcJsClient(address, { key: await key("grpc-other") });
    await other.unary(RouterService, RouterService.method.chat, chat);
    client.close();
    other.close();
  });

  it("HTTP API: 429 with Retry-After and OpenAI's rate_limit_error", async () => {
    const k = await key("http");
    const post = () =>
      fetch(`${t.app.httpUrl}/v1/chat/completions`, {
        method: "POST",
        headers: { authorization: `Bearer ${k}`, "content-type": "application/json" },
        body: chatJson,
      });
    for (let i = 0; i < 3; i++) expect((await post()).status).toBe(200);
    const before = upstreamCalls();
    const res = await post();
    expect(res.status).toBe(429);
    expect(Number(res.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
    const body = (await res.json()) as { error: { type: string; code: string } };
    expect(body.error).toMatchObject({ type: "rate_limit_error", code: "resource_exhausted" });
    expect(upstreamCalls()).toBe(before);
  });

  it("Connect JSON on the HTTP/1.1 port: 429, code resource_exhausted, retry-after header", async () => {
    const k = await key("connect");
    const post = () =>
      fetch(`${t.app.httpUrl}/sovereign.v1.RouterService/Chat`, {
        method: "POST",
        headers: { authorization: `Bearer ${k}`, "content-type": "application/json" },
        body: chatJson,
      });
    for (let i = 0; i < 3; i++) expect((await post()).status).toBe(200);
    const res = await post();
    expect(res.status).toBe(429);
    expect(Number(res.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
    expect(await res.json()).toMatchObject({ code: "resource_exhausted" });
  });

  it("a tenant's bucket is shared by its keys, whichever API they use", async () => {
    const [a, b, c] = [await key("shared"), await key("shared"), await key("shared")];
    const ga = new GrpcJsClient(address, { key: a });
    const gc = new GrpcJsClient(address, { key: c });
    for (let i = 0; i < 3; i++) await ga.unary(RouterService, RouterService.method.chat, chat);
    for (let i = 0; i < 3; i++) {
      const r = await fetch(`${t.app.httpUrl}/v1/chat/completions`, {
        method: "POST",
        headers: { authorization: `Bearer ${b}`, "content-type": "application/json" },
        body: chatJson,
      });
      expect(r.status).toBe(200);
    }
    await gc.unary(RouterService, RouterService.method.chat, chat);
    await gc.unary(RouterService, RouterService.method.chat, chat);
    // 8 calls: the tenant is spent although key c has a token left.
    const err = (await gc
      .unary(RouterService, RouterService.method.chat, chat)
      .catch((e: unknown) => e)) as grpc.ServiceError;
    expect(err.code).toBe(grpc.status.RESOURCE_EXHAUSTED);
    expect(err.details).toMatch(/rate limit of this tenant/);
    ga.close();
    gc.close();
  });

  it("concurrency per key over gRPC streams: the third is refused until one ends (cancel releases)", async () => {
    t.simulator.setBehaviour("sim-eu", { tokensPerSecond: 4, completionTokens: 40 }); // ~10 s streams
    try {
      const client = new GrpcJsClient(address, { key: await key("streams") });
      const open = () => {
        const s = client.serverStream(RouterService, RouterService.method.chatStream, chat);
        const first = new Promise<void>((resolve, reject) => {
          s.once("data", () => resolve());
          s.once("error", reject);
        });
        s.on("error", () => {});
        return { s, first };
      };
      const s1 = open();
      const s2 = open();
      await Promise.all([s1.first, s2.first]);
      const err = (await client
        .unary(RouterService, RouterService.method.explain, { request: chat })
        .catch((e: unknown) => e)) as grpc.ServiceError;
      expect(err.code).toBe(grpc.status.RESOURCE_EXHAUSTED);
      expect(err.details).toMatch(/too many concurrent calls for this API key/);
      s1.s.cancel();
      await expect
        .poll(
          () =>
            client.unary(RouterService, RouterService.method.explain, { request: chat }).then(
              () => "ok",
              (e: grpc.ServiceError) => e.code,
            ),
          { timeout: 3000, interval: 100 },
        )
        .toBe("ok");
      s2.s.cancel();
      client.close();
    } finally {
      t.simulator.resetBehaviour();
    }
  });

  it("concurrency per key over the HTTP API: 429 while two streams are open, admitted after one closes", async () => {
    t.simulator.setBehaviour("sim-eu", { tokensPerSecond: 4, completionTokens: 40 });
    try {
      const k = await key("http-streams");
      const headers = { authorization: `Bearer ${k}`, "content-type": "application/json" };
      const controllers = [new AbortController(), new AbortController()];
      const streams = await Promise.all(
        controllers.map((ac) =>
          fetch(`${t.app.httpUrl}/v1/chat/completions`, {
            method: "POST",
            headers,
            body: JSON.stringify({ ...chat, stream: true }),
            signal: ac.signal,
          }),
        ),
      );
      for (const s of streams) expect(s.status).toBe(200);
      const refused = await fetch(`${t.app.httpUrl}/v1/models`, { headers });
      expect(refused.status).toBe(429);
      expect(refused.headers.get("retry-after")).toBe("1");
      controllers[0]!.abort();
      await streams[0]!.body?.cancel().catch(() => {});
      await expect
        .poll(async () => (await fetch(`${t.app.httpUrl}/v1/models`, { headers })).status, {
          timeout: 3000,
          interval: 100,
        })
        .toBe(200);
      controllers[1]!.abort();
    } finally {
      t.simulator.resetBehaviour();
    }
  });
});

describe("limits without auth", () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ env: { SOVR_RATE_LIMIT_RPS: "0.2", SOVR_RATE_LIMIT_BURST: "2" } });
  });
  afterAll(async () => {
    await t?.close();
  });

  it("counts every caller as one anonymous key of tenant default; a made-up bearer buys no new bucket", async () => {
    const post = (authorization?: string) =>
      fetch(`${t.app.httpUrl}/v1/chat/completions`, {
        method: "POST",
        headers: { "content-type": "application/json", ...(authorization ? { authorization } : {}) },
        body: chatJson,
      });
    expect((await post()).status).toBe(200);
    expect((await post()).status).toBe(200);
    expect((await post(`Bearer sovr_0123456789ab_${"x".repeat(43)}`)).status).toBe(429);
    const client = new GrpcJsClient(`127.0.0.1:${t.app.servers.grpcPort}`);
    await expect(client.unary(RouterService, RouterService.method.chat, chat)).rejects.toMatchObject({
      code: grpc.status.RESOURCE_EXHAUSTED,
    });
    client.close();
  });
});
