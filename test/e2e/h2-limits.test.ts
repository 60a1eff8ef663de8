import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Health, HealthCheckResponse_ServingStatus } from "../../src/gen/grpc/health/v1/health_pb.js";
import { RouterService } from "../../src/gen/sovereign/v1/router_pb.js";
import { startTestApp, type TestApp } from "../support/app.js";
import { H2_CODE, RawH2 } from "../support/raw-h2.js";

/**
 * The HTTP/2 port's stream limits, black-box over raw frames (issue 11, Low): a bounded number
 * of concurrent streams per connection, and a connection that resets streams faster than the
 * bound is told ENHANCE_YOUR_CALM and closed, while other connections are served.
 */
const MAX_STREAMS = 100;
const grpc = { "content-type": "application/grpc", te: "trailers" };

describe("HTTP/2 stream limits", () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ auth: true });
  });
  afterAll(async () => {
    await t?.close();
  });

  it(`announces SETTINGS_MAX_CONCURRENT_STREAMS ${MAX_STREAMS} and refuses streams beyond it`, async () => {
    // A client that has acknowledged the limit and exceeds it loses the connection (nghttp2:
    // PROTOCOL_ERROR); one racing ahead of the acknowledgement gets REFUSED_STREAM per stream.
    const c = await RawH2.open(t.app.servers.grpcPort, { ackSettings: false });
    try {
      expect(await c.until(() => c.maxConcurrentStreams !== undefined)).toBe(true);
      expect(c.maxConcurrentStreams).toBe(MAX_STREAMS);
      // Health/Watch is public and its request body never comes: each stream stays open.
      const extra = 20;
      for (let i = 0; i < MAX_STREAMS + extra; i++) {
        c.headers(1 + 2 * i, "/grpc.health.v1.Health/Watch", grpc);
      }
      expect(await c.until(() => c.resets.size >= extra)).toBe(true);
      const refused = [...c.resets.entries()].filter(([, code]) => code === H2_CODE.REFUSED_STREAM);
      expect(refused).toHaveLength(extra);
      // The first MAX_STREAMS were accepted: none of them was reset.
      expect(Math.min(...refused.map(([id]) => id))).toBe(1 + 2 * MAX_STREAMS);
      expect(c.goaway).toBeUndefined();
    } finally {
      c.close();
    }
  });

  for (const keyed of [false, true]) {
    it(`closes a connection that opens and resets 20,000 streams ${keyed ? "with" : "without"} a key (rapid reset) with GOAWAY ENHANCE_YOUR_CALM; others are served`, async () => {
      const port = t.app.servers.grpcPort;
      const bystander = createGrpcTransport({ baseUrl: t.app.grpcUrl });
      const health = createClient(Health, bystander);
      expect((await health.check({})).status).toBe(HealthCheckResponse_ServingStatus.SERVING);

      const c = await RawH2.open(port);
      const headers = keyed ? { ...grpc, authorization: `Bearer ${t.devKey}` } : grpc;
      let sent = 0;
      for (; sent < 20_000 && !c.closed; sent++) {
        const id = 1 + 2 * sent;
        c.headers(id, `/${RouterService.typeName}/Chat`, headers, true);
        if (!c.reset(id)) await c.drained();
      }
      expect(await c.until(() => c.closed)).toBe(true);
      expect(c.goaway).toBe(H2_CODE.ENHANCE_YOUR_CALM);
      // Closed by the guard's bound, long before nghttp2's own (GOAWAY INTERNAL_ERROR at 1,000).
      expect(c.answered.size).toBeLessThan(1000);

      // The bystander's connection is untouched: probes and a keyed call still work on it.
      expect((await health.check({})).status).toBe(HealthCheckResponse_ServingStatus.SERVING);
      const router = createClient(RouterService, bystander);
      const ok = await router.chat(
        { model: "sim/chat-small", region: "eu", messages: [{ role: "user", content: "hi" }] },
        { headers: { authorization: `Bearer ${t.devKey}` } },
      );
      expect(ok.route?.decisionId).toMatch(/^[0-9a-f-]{36}$/);
      const unauth = await router
        .chat({ model: "sim/chat-small" })
        .catch((e: unknown) => ConnectError.from(e));
      expect((unauth as ConnectError).code).toBe(Code.Unauthenticated);
      expect(t.logs.some((l) => l.includes("streams reset too fast"))).toBe(true);
    });
  }
});
