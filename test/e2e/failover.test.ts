import type { ServiceError } from "@grpc/grpc-js";
import { status as GrpcStatus } from "@grpc/grpc-js";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { type ChatStreamResponse, RouterService } from "../../src/gen/sovereign/v1/router_pb.js";
import { appDatabases, type TestApp } from "../support/app.js";
import { collect, GrpcJsClient } from "../support/grpc.js";
import { chat, lastDecisionId, outcomeOf, startRoutingApp } from "../support/routing-app.js";

/**
 * DESIGN §6 step 6 through a real server, a real gRPC client and the simulator: which upstream
 * failures move on to the next endpoint, which end the call, and what the outcome record says.
 */
describe.each(appDatabases)("failover matrix (%s)", (database) => {
  let t: TestApp;
  let client: GrpcJsClient;
  const EU_FIRST = { order: ["sim-eu", "sim-us"], only: ["sim-eu", "sim-us"] };

  beforeAll(async () => {
    t = await startRoutingApp({
      database,
      env: { SOVR_FIRST_TOKEN_TIMEOUT_MS: "400", SOVR_IDLE_TIMEOUT_MS: "400" },
    });
    client = new GrpcJsClient(t.app.grpcUrl.replace("http://", ""));
  });
  afterAll(async () => {
    client?.close();
    await t?.close();
  });
  beforeEach(() => t.simulator.resetBehaviour());

  const stream = (provider = EU_FIRST) =>
    collect<ChatStreamResponse>(
      client.serverStream(RouterService, RouterService.method.chatStream, chat(provider)),
    );
  const routeOf = (msgs: ChatStreamResponse[]) => {
    const first = msgs[0]!.event;
    if (first.case !== "route") throw new Error("the route comes first");
    return first.value;
  };
  const requests = (instance: string) => t.simulator.stats(instance).requests;

  it.each([
    ["refused connection", "sim-dead", undefined, "connect", null],
    ["reset before a response", "sim-eu", { kind: "reset" }, /^(connect|stream_broken)$/, null],
    ["HTTP 500", "sim-eu", { kind: "status", status: 500 }, "server", 500],
    ["HTTP 503", "sim-eu", { kind: "status", status: 503 }, "server", 503],
    ["HTTP 429", "sim-eu", { kind: "status", status: 429, retryAfterSeconds: 30 }, "rate_limited", 429],
    ["hang (first-token timeout)", "sim-eu", { kind: "hang" }, "timeout_first_token", null],
  ] as const)(
    "%s → the next endpoint serves; both attempts recorded",
    async (_name, first, fault, errorClass, status) => {
      if (fault) t.simulator.setBehaviour(first, { fault });
      const usBefore = requests("sim-us");
      const msgs = await stream({ order: [first, "sim-us"], only: [first, "sim-us"] });
      const route = routeOf(msgs);
      expect(route.endpointId).toBe("sim-us/chat-small");
      expect(route.attempt).toBe(2);
      expect(msgs.at(-1)!.event.case).toBe("finish");
      expect(requests("sim-us")).toBe(usBefore + 1);
      const outcome = await outcomeOf(t, route.decisionId);
      expect(outcome.outcome).toBe("success");
      expect(outcome.endpoint_used).toBe("sim-us/chat-small");
      expect(outcome.attempts.map((a) => a.endpoint_id)).toEqual([
        `${first}/chat-small`,
        "sim-us/chat-small",
      ]);
      expect(outcome.attempts[0]!.error_class).toMatch(errorClass);
      expect(outcome.attempts[0]!.status).toBe(status);
      expect(outcome.attempts[1]).toMatchObject({ status: 200, error_class: null });
    },
  );

  it("a slow first token (TTFT over the timeout) fails over too", async () => {
    t.simulator.setBehaviour("sim-eu", { ttftMs: 1500 });
    const route = routeOf(await stream());
    expect(route.endpointId).toBe("sim-us/chat-small");
    expect((await outcomeOf(t, route.decisionId)).attempts[0]!.error_class).toBe("timeout_first_token");
  });

  it("HTTP 400 is the request's fault: InvalidArgument, no second upstream", async () => {
    t.simulator.setBehaviour("sim-eu", { fault: { kind: "status", status: 400 } });
    const usBefore = requests("sim-us");
    const err = (await stream().catch((e: unknown) => e)) as ServiceError;
    expect(err.code).toBe(GrpcStatus.INVALID_ARGUMENT);
    expect(requests("sim-us")).toBe(usBefore);
    const outcome = await outcomeOf(t, await lastDecisionId(t));
    expect(outcome.outcome).toBe("failed");
    expect(outcome.attempts).toHaveLength(1);
    expect(outcome.attempts[0]).toMatchObject({
      endpoint_id: "sim-eu/chat-small",
      status: 400,
      error_class: "client",
    });
  });

  it.each([
    ["reset after the first token", { kind: "abort_after", chunks: 3 }, "stream_broken"],
    ["silence after the first token (idle timeout)", { kind: "stall_after", chunks: 3 }, "timeout_idle"],
  ] as const)("%s → error to the caller, no second upstream call", async (_name, fault, errorClass) => {
    t.simulator.setBehaviour("sim-eu", { fault });
    const usBefore = requests("sim-us");
    const received: ChatStreamResponse[] = [];
    const call = client.serverStream(RouterService, RouterService.method.chatStream, chat(EU_FIRST));
    call.on("data", (m: ChatStreamResponse) => received.push(m));
    const err = (await collect(call).catch((e: unknown) => e)) as ServiceError;
    expect(err.code).toBe(GrpcStatus.UNAVAILABLE);
    expect(routeOf(received).endpointId).toBe("sim-eu/chat-small");
    expect(
      received
        .filter((m) => m.event.case === "delta")
        .map((m) => (m.event.value as { content: string }).content)
        .join(""),
    ).toBe("the quick brown");
    expect(requests("sim-us")).toBe(usBefore);
    const outcome = await outcomeOf(t, routeOf(received).decisionId);
    expect(outcome).toMatchObject({
      outcome: "failed",
      endpoint_used: "sim-eu/chat-small",
      error_class: errorClass,
    });
    expect(outcome.attempts).toEqual([
      expect.objectContaining({ endpoint_id: "sim-eu/chat-small", error_class: errorClass }),
    ]);
  });

  it("allow_fallbacks: false tries one endpoint only", async () => {
    t.simulator.setBehaviour("sim-eu", { fault: { kind: "status", status: 500 } });
    const usBefore = requests("sim-us");
    const err = (await stream({ ...EU_FIRST, allowFallbacks: false } as typeof EU_FIRST).catch(
      (e: unknown) => e,
    )) as ServiceError;
    expect(err.code).toBe(GrpcStatus.UNAVAILABLE);
    expect(err.metadata.get("x-sovr-decision-id")).toHaveLength(1);
    expect(requests("sim-us")).toBe(usBefore);
    expect((await outcomeOf(t, String(err.metadata.get("x-sovr-decision-id")[0]))).attempts).toHaveLength(1);
  });

  it("every endpoint failing → Unavailable naming each attempt", async () => {
    t.simulator.setBehaviour("sim-eu", { fault: { kind: "status", status: 502 } });
    t.simulator.setBehaviour("sim-us", { fault: { kind: "status", status: 500 } });
    const err = (await stream().catch((e: unknown) => e)) as ServiceError;
    expect(err.code).toBe(GrpcStatus.UNAVAILABLE);
    expect(err.details).toContain("sim-eu/chat-small (server)");
    expect(err.details).toContain("sim-us/chat-small (server)");
    const outcome = await outcomeOf(t, String(err.metadata.get("x-sovr-decision-id")[0]));
    expect(outcome.attempts.map((a) => a.status)).toEqual([502, 500]);
  });
});
