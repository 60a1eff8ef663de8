import { status as GrpcStatus, type ServiceError } from "@grpc/grpc-js";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { type ChatStreamResponse, RouterService } from "../../src/gen/sovereign/v1/router_pb.js";
import type { TestApp } from "../support/app.js";
import { collect, GrpcJsClient } from "../support/grpc.js";
import { chat, outcomeOf, startRoutingApp } from "../support/routing-app.js";

/** DESIGN §6 "Streaming": route first, cancellation and deadlines reach the upstream, back-pressure. */
describe("streaming", () => {
  let t: TestApp;
  let client: GrpcJsClient;
  const EU = { only: ["sim-eu"] };

  beforeAll(async () => {
    t = await startRoutingApp();
    client = new GrpcJsClient(t.app.grpcUrl.replace("http://", ""));
  });
  afterAll(async () => {
    client?.close();
    await t?.close();
  });
  beforeEach(() => t.simulator.resetBehaviour());

  const until = async (cond: () => boolean, ms = 3000) => {
    const start = Date.now();
    while (!cond()) {
      if (Date.now() - start > ms) throw new Error("condition not met in time");
      await new Promise((r) => setTimeout(r, 10));
    }
  };

  it("sends the route first, then deltas, then usage and the finish reason", async () => {
    const msgs = await collect<ChatStreamResponse>(
      client.serverStream(RouterService, RouterService.method.chatStream, chat(EU)),
    );
    expect(msgs.map((m) => m.event.case)).toEqual(["route", ...Array(16).fill("delta"), "finish"]);
    const finish = msgs.at(-1)!.event.value as {
      finishReason: string;
      usage: { completionTokens: number; costMicroUsd: bigint };
    };
    expect(finish.finishReason).toBe("stop");
    expect(finish.usage.completionTokens).toBe(16);
    expect(finish.usage.costMicroUsd).toBeGreaterThan(0n);
  });

  it("a caller cancelling mid-stream aborts the upstream request", async () => {
    t.simulator.setBehaviour("sim-eu", { tokensPerSecond: 50, completionTokens: 500 });
    const before = t.simulator.stats("sim-eu").aborted;
    const call = client.serverStream(RouterService, RouterService.method.chatStream, chat(EU));
    let deltas = 0;
    let decisionId = "";
    const ended = new Promise<ServiceError>((r) => call.on("error", r));
    call.on("data", (m: ChatStreamResponse) => {
      if (m.event.case === "route") decisionId = m.event.value.decisionId;
      if (m.event.case === "delta" && ++deltas === 3) call.cancel();
    });
    expect((await ended).code).toBe(GrpcStatus.CANCELLED);
    await until(() => t.simulator.stats("sim-eu").aborted === before + 1);
    expect(t.simulator.stats("sim-eu").chunksWritten).toBeLessThan(100);
    const outcome = await outcomeOf(t, decisionId);
    expect(outcome).toMatchObject({
      outcome: "failed",
      error_class: "aborted",
      endpoint_used: "sim-eu/chat-small",
    });
  });

  it.each([
    ["while streaming", { tokensPerSecond: 40, completionTokens: 500 }],
    ["before the first token", { ttftMs: 10_000 }],
  ])("a gRPC deadline (grpc-timeout) propagates to the upstream %s", async (_when, behaviour) => {
    t.simulator.setBehaviour("sim-eu", behaviour);
    const before = t.simulator.stats("sim-eu").aborted;
    const started = Date.now();
    const call = client.serverStream(RouterService, RouterService.method.chatStream, chat(EU), undefined, {
      deadline: Date.now() + 500,
    });
    const err = (await collect(call).catch((e: unknown) => e)) as ServiceError;
    expect(err.code).toBe(GrpcStatus.DEADLINE_EXCEEDED);
    await until(() => t.simulator.stats("sim-eu").aborted === before + 1);
    expect(Date.now() - started).toBeLessThan(3000);
  });

  it("back-pressure: a reader that stops reading stops the upstream, nothing is buffered whole", async () => {
    const total = 100_000;
    t.simulator.setBehaviour("sim-eu", { completionTokens: total });
    const st = t.simulator.stats("sim-eu");
    const [writtenBefore, completedBefore] = [st.chunksWritten, st.completed];
    const call = client.serverStream(RouterService, RouterService.method.chatStream, chat(EU));
    let received = 0;
    const done = collect(call);
    const first = new Promise<void>((r, reject) => {
      call.on("error", reject);
      call.on("data", (m: ChatStreamResponse) => {
        if (m.event.case === "delta") received++;
        if (received === 1) {
          call.pause();
          r();
        }
      });
    });
    await first;
    // With the reader paused the simulator must end up blocked on its socket: its count stalls.
    let last = -1;
    await until(() => {
      const now = st.chunksWritten;
      const stalled = now === last;
      last = now;
      return stalled;
    }, 10_000).catch(() => {});
    await new Promise((r) => setTimeout(r, 300));
    const stalledAt = st.chunksWritten - writtenBefore;
    expect(st.chunksWritten - writtenBefore).toBe(stalledAt);
    expect(st.completed).toBe(completedBefore);
    expect(st.drainWaits).toBeGreaterThan(0);
    // Every buffer on the way (sockets, HTTP/2 windows, parsers) together holds a fraction only.
    expect(stalledAt).toBeLessThan(total / 2);
    console.info(
      `back-pressure: upstream stalled after ${stalledAt} of ${total} chunks while the reader was paused`,
    );
    call.resume();
    const msgs = await done;
    expect(msgs.filter((m) => m.event.case === "delta").length).toBe(total);
    expect(st.completed).toBe(completedBefore + 1);
  }, 60_000);
});
