/**
 * Token limits (issue 17): tokens per minute per API key, charged an estimate (input estimate +
 * max_tokens) before the call and settled to the upstream's reported usage after, refused as
 * 429 / ResourceExhausted with Retry-After, naming the limit, on every surface.
 */
import * as grpc from "@grpc/grpc-js";
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createApiKey } from "../../src/auth/api-keys.js";
import { RouterService } from "../../src/gen/sovereign/v1/router_pb.js";
import { startTestApp, type TestApp } from "../support/app.js";
import { GrpcJsClient } from "../support/grpc.js";

const TPM = 2500;

describe("token limits per key (tokens per minute)", () => {
  let t: TestApp;
  const newKey = async () => {
    const k = await createApiKey(t.app.db.db, { tenant: "ta", roles: ["client"] });
    await t.app.auth.refresh();
    return k.token;
  };
  const openai = (key: string) => new OpenAI({ baseURL: `${t.app.httpUrl}/v1`, apiKey: key, maxRetries: 0 });
  const ask = (key: string, maxTokens: number) =>
    openai(key).chat.completions.create({
      model: "sim/chat-small",
      messages: [{ role: "user", content: "how many tokens is this?" }],
      max_tokens: maxTokens,
      // @ts-expect-error OpenRouter's extension, as routing tests send it
      provider: { only: ["sim-eu"] },
    });
  const upstreamCalls = () => t.simulator.stats("sim-eu").requests;

  beforeAll(async () => {
    t = await startTestApp({ auth: true, env: { SOVR_TOKEN_LIMIT_TPM: String(TPM) } });
  });
  afterAll(async () => {
    await t?.close();
  });

  it("settles each call to its actual usage: five calls of max_tokens 1000 pass one after another in a 2500-token minute", async () => {
    const key = await newKey();
    for (let i = 0; i < 5; i++) {
      const res = await ask(key, 1000);
      // The answer used far fewer tokens than the 1000 + input it was charged before.
      expect(res.usage!.total_tokens).toBeLessThan(100);
    }
  });

  it("refuses a call whose estimate does not fit while another holds its charge: 429 / ResourceExhausted with Retry-After, naming the limit; nothing sent upstream", async () => {
    const key = await newKey();
    const client = new GrpcJsClient(`127.0.0.1:${t.app.servers.grpcPort}`, { key });
    // A stream that answers one chunk and then stalls holds its estimate (~2000 + input).
    t.simulator.setBehaviour("sim-eu", { fault: { kind: "stall_after", chunks: 1 } });
    const held = client.serverStream(RouterService, RouterService.method.chatStream, {
      model: "sim/chat-small",
      region: "eu",
      maxTokens: 2000,
      messages: [{ role: "user", content: "hold" }],
    });
    held.on("error", () => {});
    await new Promise((resolve) => held.once("data", resolve));
    t.simulator.resetBehaviour();
    try {
      const before = upstreamCalls();
      const err = (await ask(key, 1000).catch((e: unknown) => e)) as InstanceType<typeof OpenAI.APIError>;
      expect(err).toBeInstanceOf(OpenAI.APIError);
      expect(err.status).toBe(429);
      expect(err.message).toContain(`token limit of this API key exceeded (${TPM} tokens per minute)`);
      expect((err.error as { type: string }).type).toBe("rate_limit_error");
      const retryAfter = Number(err.headers?.get("retry-after"));
      expect(retryAfter).toBeGreaterThanOrEqual(1);
      expect(retryAfter).toBeLessThanOrEqual(60);
      const g = (await client
        .unary(RouterService, RouterService.method.chat, {
          model: "sim/chat-small",
          region: "eu",
          maxTokens: 1000,
          messages: [{ role: "user", content: "and over gRPC?" }],
        })
        .catch((e: unknown) => e)) as grpc.ServiceError;
      expect(g.code).toBe(grpc.status.RESOURCE_EXHAUSTED);
      expect(g.details).toContain("token limit of this API key exceeded");
      expect(Number(g.metadata.get("retry-after")[0])).toBeGreaterThanOrEqual(1);
      expect(upstreamCalls()).toBe(before);
      // A small call still fits next to the held one.
      await ask(key, 50);
    } finally {
      held.cancel();
      client.close();
    }
    // Another key has its own minute.
    await ask(await newKey(), 1000);
  });
});
