import * as grpc from "@grpc/grpc-js";
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Admission } from "../../src/api/transport/admission.js";
import { Health } from "../../src/gen/grpc/health/v1/health_pb.js";
import { RouterService } from "../../src/gen/sovereign/v1/router_pb.js";
import { startTestApp, type TestApp } from "../support/app.js";
import { GrpcJsClient } from "../support/grpc.js";

const chat = { model: "sim/chat-small", region: "eu", messages: [{ role: "user", content: "hi" }] };
const INSTANCES = ["sim-eu", "sim-us", "sim-unknown"];

describe("Admission (the counter)", () => {
  it("admits up to the bound, refuses past it, frees a slot once per release; 0 is unbounded", () => {
    const refused: string[] = [];
    const logged: number[] = [];
    const clock = { ms: 0 };
    const a = new Admission({
      maxInFlight: 2,
      onRefused: (api) => refused.push(api),
      onRefusedLog: (n) => logged.push(n),
      now: () => clock.ms,
    });
    const r1 = a.enter("grpc");
    const r2 = a.enter("http");
    expect(r1 && r2).toBeTruthy();
    expect(a.enter("http")).toBeUndefined();
    expect(a.enter("grpc")).toBeUndefined();
    expect(refused).toEqual(["http", "grpc"]);
    // One log line for the first refusal; the second, within the same second, only counted.
    expect(logged).toEqual([1]);
    r1!();
    r1!(); // idempotent: a second release frees nothing
    expect(a.inflight).toBe(1);
    const r3 = a.enter("grpc");
    expect(r3).toBeTruthy();
    expect(a.enter("grpc")).toBeUndefined();
    clock.ms += 1000;
    expect(a.enter("grpc")).toBeUndefined();
    expect(logged).toEqual([1, 3]); // the three refused since the last line
    const unbounded = new Admission({ maxInFlight: 0 });
    for (let i = 0; i < 10_000; i++) expect(unbounded.enter("http")).toBeTruthy();
  });
});

describe("SOVR_MAX_IN_FLIGHT=2 over gRPC and the HTTP APIs", () => {
  let t: TestApp;
  let client: GrpcJsClient;
  let openai: OpenAI;

  beforeAll(async () => {
    t = await startTestApp({ env: { SOVR_MAX_IN_FLIGHT: "2" } });
    client = new GrpcJsClient(`127.0.0.1:${t.app.servers.grpcPort}`);
    openai = new OpenAI({ baseURL: `${t.app.httpUrl}/v1`, apiKey: "sk-unused-auth-off", maxRetries: 0 });
  });
  afterAll(async () => {
    client?.close();
    await t?.close();
  });

  /** Two streams held open upstream (one per API) after their first chunk: both slots taken. */
  async function holdTwo() {
    for (const i of INSTANCES) t.simulator.setBehaviour(i, { fault: { kind: "stall_after", chunks: 1 } });
    const g = client.serverStream(RouterService, RouterService.method.chatStream, chat);
    g.on("error", () => {});
    const gFirst = new Promise<void>((resolve, reject) => {
      g.once("data", () => resolve());
      g.once("error", reject);
    });
    const ac = new AbortController();
    const h = await openai.chat.completions.create(
      { model: chat.model, messages: [{ role: "user", content: "hi" }], stream: true },
      { signal: ac.signal },
    );
    const it = h[Symbol.asyncIterator]();
    await it.next();
    await gFirst;
    return {
      release: async () => {
        g.cancel();
        ac.abort();
        await it.return?.(undefined).catch(() => {});
        t.simulator.resetBehaviour();
      },
    };
  }

  const chatOk = () =>
    client.unary(RouterService, RouterService.method.chat, chat).then(
      () => "ok",
      (e: grpc.ServiceError) => e.code,
    );

  it("refuses the third call on both APIs at once (503 / UNAVAILABLE), probes still answer, then admits again", async () => {
    const upstream = () => INSTANCES.reduce((n, i) => n + t.simulator.stats(i).requests, 0);
    const held = await holdTwo();
    try {
      const before = upstream();
      // gRPC (grpc-js, the gRPC port's own path): UNAVAILABLE naming the limit, retry-after.
      const err = (await client
        .unary(RouterService, RouterService.method.chat, chat)
        .catch((e: unknown) => e)) as grpc.ServiceError;
      expect(err.code).toBe(grpc.status.UNAVAILABLE);
      expect(err.details).toMatch(/SOVR_MAX_IN_FLIGHT/);
      expect(err.metadata.get("retry-after")).toEqual(["1"]);

      // Connect JSON on the HTTP port: 503 too (connect's mapping of UNAVAILABLE).
      const connect = await fetch(`${t.app.httpUrl}/sovereign.v1.RouterService/Chat`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(chat),
      });
      expect(connect.status).toBe(503);
      expect(((await connect.json()) as { message: string }).message).toMatch(/SOVR_MAX_IN_FLIGHT/);

      // OpenAI SDK: 503, Retry-After, an OpenAI error body naming the limit.
      const oerr = (await openai.chat.completions
        .create({ model: chat.model, messages: [{ role: "user", content: "hi" }] })
        .catch((e: unknown) => e)) as InstanceType<typeof OpenAI.APIError>;
      expect(oerr).toBeInstanceOf(OpenAI.APIError);
      expect(oerr.status).toBe(503);
      expect(oerr.headers?.get("retry-after")).toBe("1");
      expect(oerr.message).toMatch(/SOVR_MAX_IN_FLIGHT/);
      expect((oerr.error as { type?: string }).type).toBe("service_unavailable");

      // Anthropic's route: Anthropic's error shape.
      const msg = await fetch(`${t.app.httpUrl}/v1/messages`, {
        method: "POST",
        headers: { "content-type": "application/json", "anthropic-version": "2023-06-01" },
        body: JSON.stringify({
          model: chat.model,
          max_tokens: 16,
          messages: [{ role: "user", content: "hi" }],
        }),
      });
      expect(msg.status).toBe(503);
      expect(msg.headers.get("retry-after")).toBe("1");
      const body = (await msg.json()) as { type: string; error: { type: string; message: string } };
      expect(body.type).toBe("error");
      expect(body.error.type).toBe("overloaded_error");
      expect(body.error.message).toMatch(/SOVR_MAX_IN_FLIGHT/);

      // Nothing refused reached an upstream.
      expect(upstream()).toBe(before);

      // Health, readiness, metrics, the model list and gRPC health are not bounded.
      expect((await fetch(`${t.app.httpUrl}/healthz`)).status).toBe(200);
      expect((await fetch(`${t.app.httpUrl}/readyz`)).status).toBe(200);
      expect((await openai.models.list()).data.length).toBeGreaterThan(0);
      await client.unary(Health, Health.method.check, {});
      const metrics = await (await fetch(`${t.app.httpUrl}/metrics`)).text();
      expect(metrics).toMatch(/sovr_overload_refusals_total\{api="grpc"\} 2/);
      expect(metrics).toMatch(/sovr_overload_refusals_total\{api="http"\} 2/);
      expect(t.logs.join("")).toMatch(/calls refused at SOVR_MAX_IN_FLIGHT/);
    } finally {
      await held.release();
    }
    // Released: calls are admitted again, on both APIs.
    await expect.poll(chatOk, { timeout: 5000, interval: 50 }).toBe("ok");
    const ok = await openai.chat.completions.create({
      model: chat.model,
      messages: [{ role: "user", content: "hi" }],
    });
    expect(ok.choices.length).toBeGreaterThan(0);
  });
});
