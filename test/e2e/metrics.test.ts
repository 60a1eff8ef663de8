import * as grpc from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RouterService } from "../../src/gen/sovereign/v1/router_pb.js";
import { startTestApp, type TestApp } from "../support/app.js";
import { GrpcJsClient } from "../support/grpc.js";

describe("/metrics counts routed requests", () => {
  let t: TestApp;
  let client: GrpcJsClient;
  beforeAll(async () => {
    t = await startTestApp();
    client = new GrpcJsClient(`127.0.0.1:${t.app.servers.grpcPort}`);
  });
  afterAll(async () => {
    client?.close();
    await t?.close();
  });

  const value = (text: string, series: string) => {
    const line = text.split("\n").find((l) => l.startsWith(`${series} `));
    return line === undefined ? undefined : Number(line.split(" ")[1]);
  };

  it("by outcome, per upstream attempt, with policy and request timings", async () => {
    const chat = (extra: object) =>
      client
        .unary(RouterService, RouterService.method.chat, {
          model: "sim/chat-small",
          region: "eu",
          messages: [{ role: "user", content: "metrics" }],
          ...extra,
        })
        .then(
          () => grpc.status.OK,
          (e: grpc.ServiceError) => e.code,
        );
    expect(await chat({})).toBe(grpc.status.OK);
    expect(await chat({})).toBe(grpc.status.OK);
    expect(await chat({ provider: { only: ["sim-us"] } })).toBe(grpc.status.FAILED_PRECONDITION);
    t.simulator.setBehaviour("sim-eu", { fault: { kind: "status", status: 500 } });
    expect(await chat({})).toBe(grpc.status.UNAVAILABLE);
    t.simulator.resetBehaviour();

    const text = await (await fetch(`${t.app.httpUrl}/metrics`)).text();
    expect(value(text, 'sovr_requests_total{outcome="success"}')).toBe(2);
    expect(value(text, 'sovr_requests_total{outcome="denied"}')).toBe(1);
    expect(value(text, 'sovr_requests_total{outcome="failed"}')).toBe(1);
    expect(value(text, 'sovr_upstream_attempts_total{endpoint="sim-eu/chat-small",result="ok"}')).toBe(2);
    expect(value(text, 'sovr_upstream_attempts_total{endpoint="sim-eu/chat-small",result="server"}')).toBe(1);
    expect(value(text, "sovr_policy_eval_seconds_count")).toBe(4);
    expect(value(text, "sovr_request_duration_seconds_count")).toBe(4);
    expect(value(text, "sovr_inflight_requests")).toBe(1); // the scrape itself
  });
});
