import { fromBinary } from "@bufbuild/protobuf";
import { BinaryReader } from "@bufbuild/protobuf/wire";
import { status as GrpcStatus, type ServiceError } from "@grpc/grpc-js";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import {
  type ChatStreamResponse,
  DataCollection,
  ExclusionStage,
  NoEligibleEndpointSchema,
  RouterService,
  SortBy,
  SortPartition,
} from "../../src/gen/sovereign/v1/router_pb.js";
import type { TestApp } from "../support/app.js";
import { collect, GrpcJsClient } from "../support/grpc.js";
import { chat, outcomeOf, startRoutingApp } from "../support/routing-app.js";

/** `google.rpc.Status.details` (field 3, Any{type_url = 1, value = 2}) from grpc-status-details-bin. */
function statusDetails(bin: Buffer): { typeUrl: string; value: Uint8Array }[] {
  const out: { typeUrl: string; value: Uint8Array }[] = [];
  const r = new BinaryReader(bin);
  while (r.pos < r.len) {
    const [field, wire] = r.tag();
    if (field !== 3) {
      r.skip(wire);
      continue;
    }
    const any = new BinaryReader(r.bytes());
    const item: { typeUrl: string; value: Uint8Array } = { typeUrl: "", value: new Uint8Array() };
    while (any.pos < any.len) {
      const [f, w] = any.tag();
      if (f === 1) item.typeUrl = any.string();
      else if (f === 2) item.value = any.bytes();
      else any.skip(w);
    }
    out.push(item);
  }
  return out;
}

/** Every routing preference through a real server and gRPC client, with recorded reasons. */
describe("routing preferences over gRPC", () => {
  let t: TestApp;
  let client: GrpcJsClient;

  beforeAll(async () => {
    t = await startRoutingApp();
    client = new GrpcJsClient(t.app.grpcUrl.replace("http://", ""));
  });
  afterAll(async () => {
    client?.close();
    await t?.close();
  });
  beforeEach(() => t.simulator.resetBehaviour());

  const explain = async (req: ReturnType<typeof chat>) =>
    (await client.unary(RouterService, RouterService.method.explain, { request: req })).decision!;
  const rulesOf = (d: Awaited<ReturnType<typeof explain>>, id: string) =>
    d.candidates.find((c) => c.endpointId === id)!.exclusions.map((e) => e.rule);

  it("no eligible endpoint → FailedPrecondition with NoEligibleEndpoint details per candidate", async () => {
    const err = (await collect(
      client.serverStream(
        RouterService,
        RouterService.method.chatStream,
        chat({ only: ["sim-us"], zdr: true }),
      ),
    ).catch((e: unknown) => e)) as ServiceError;
    expect(err.code).toBe(GrpcStatus.FAILED_PRECONDITION);
    const details = statusDetails(err.metadata.get("grpc-status-details-bin")[0] as Buffer);
    expect(details[0]!.typeUrl).toBe("type.googleapis.com/sovereign.v1.NoEligibleEndpoint");
    const detail = fromBinary(NoEligibleEndpointSchema, details[0]!.value);
    const byId = new Map(detail.candidates.map((c) => [c.endpointId, c]));
    expect(byId.size).toBe(5);
    const us = byId.get("sim-us/chat-small")!;
    expect(us.eligible).toBe(false);
    // zdr is the organisation's policy at work (with its reason), `only` the caller's filter.
    expect(us.exclusions.find((e) => e.stage === ExclusionStage.POLICY)!.reason).toMatch(/^zdr: /);
    expect(byId.get("sim-eu/chat-small")!.exclusions).toEqual([
      expect.objectContaining({
        stage: ExclusionStage.FILTER,
        rule: "only",
        reason: expect.stringMatching(/^only: /),
      }),
    ]);
    for (const c of detail.candidates)
      for (const e of c.exclusions) expect(e.reason.length).toBeGreaterThan(5);
    // The refusal itself is a signed decision record.
    const decisionId = String(err.metadata.get("x-sovr-decision-id")[0]);
    await t.app.audit.settled();
    const row = await t.app.db.db
      .selectFrom("audit_decisions")
      .selectAll()
      .where("decision_id", "=", decisionId)
      .executeTakeFirstOrThrow();
    expect(row.outcome).toBe("denied");
  });

  it.each([
    ["zdr", { zdr: true }, "sim-us/chat-small", "zdr"],
    [
      "data_collection deny",
      { dataCollection: DataCollection.DENY },
      "sim-unknown/chat-small",
      "data_collection",
    ],
    ["quantizations", { quantizations: ["fp8"] }, "sim-eu/chat-small", "quantizations"],
    ["max_price", { maxPrice: { prompt: 0.6 } }, "sim-us/chat-small", "max_price"],
    ["ignore", { ignore: ["sim-unknown"] }, "sim-unknown/chat-small", "ignore"],
    ["only", { only: ["sim-eu"] }, "sim-us/chat-small", "only"],
    ["require_parameters", { requireParameters: true }, "sim-unknown/chat-small", "require_parameters"],
  ] as const)("%s excludes with a recorded reason", async (_name, provider, endpoint, rule) => {
    const d = await explain(chat(provider as never, { topP: 0.5 }));
    expect(rulesOf(d, endpoint)).toContain(rule);
    expect(d.plan).not.toContain(endpoint);
  });

  it("region eu fails closed on unknown residency; max_tokens beyond context is excluded", async () => {
    const d = await explain(chat({}, { region: "eu", maxTokens: 20_000 }));
    expect(rulesOf(d, "sim-unknown/chat-small")).toEqual(
      expect.arrayContaining(["residency", "context_length"]),
    );
    expect(rulesOf(d, "sim-us/chat-small")).toContain("residency");
    expect(d.plan).toEqual(expect.arrayContaining(["sim-eu/chat-small"]));
  });

  it("order, sort and model fallbacks shape the plan; the seed is recorded", async () => {
    const ordered = await explain(chat({ order: ["sim-unknown", "sim-us"], ignore: ["sim-dead"] }));
    expect(ordered.plan.slice(0, 2)).toEqual(["sim-unknown/chat-small", "sim-us/chat-small"]);
    expect(ordered.seed).toMatch(/^\d+$/);
    const byPrice = await explain(chat({ sort: { by: SortBy.PRICE }, ignore: ["sim-dead"] }));
    expect(byPrice.plan).toEqual([
      "sim-eu/chat-small",
      "sim-unknown/chat-small",
      "sim-us/chat-small",
      "sim-anthropic/chat-small",
    ]);
    const fallbacks = await explain(
      chat({ sort: { by: SortBy.PRICE }, only: ["sim-us", "sim-eu"] }, { models: ["sim/chat-large"] }),
    );
    expect(fallbacks.plan).toEqual([
      "sim-eu/chat-small",
      "sim-us/chat-small",
      "sim-us/chat-large",
      "sim-eu/chat-large",
    ]);
    const across = await explain(
      chat(
        { sort: { by: SortBy.PRICE, partition: SortPartition.NONE }, only: ["sim-us"] },
        { models: ["sim/chat-large"] },
      ),
    );
    expect(across.plan).toEqual(["sim-us/chat-small", "sim-us/chat-large"]);
  });

  it("a 429 with Retry-After puts that endpoint behind healthy ones for that long", async () => {
    t.simulator.setBehaviour("sim-eu", { fault: { kind: "status", status: 429, retryAfterSeconds: 30 } });
    const only = { only: ["sim-eu", "sim-us"] };
    const msgs = await collect<ChatStreamResponse>(
      client.serverStream(
        RouterService,
        RouterService.method.chatStream,
        chat({ order: ["sim-eu", "sim-us"], ...only }),
      ),
    );
    expect((msgs[0]!.event.value as { endpointId: string }).endpointId).toBe("sim-us/chat-small");
    // sim-eu ($1) would win ~90% of draws; after the 429 it is last in every plan.
    for (let i = 0; i < 20; i++) {
      const d = await explain(chat(only));
      expect(d.plan).toEqual(["sim-us/chat-small", "sim-eu/chat-small"]);
      expect(d.candidates.find((c) => c.endpointId === "sim-eu/chat-small")!.unhealthy).toBe(true);
    }
  });

  it("rolling TTFT and tokens/s from real traffic feed sort by latency and throughput", async () => {
    t.simulator.setBehaviour("sim-us", { ttftMs: 150, tokensPerSecond: 400 });
    t.simulator.setBehaviour("sim-unknown", { ttftMs: 5, tokensPerSecond: 100 });
    for (const p of ["sim-us", "sim-unknown", "sim-us", "sim-unknown"]) {
      const msgs = await collect<ChatStreamResponse>(
        client.serverStream(RouterService, RouterService.method.chatStream, chat({ only: [p] })),
      );
      await outcomeOf(t, (msgs[0]!.event.value as { decisionId: string }).decisionId);
    }
    const latency = await explain(chat({ sort: { by: SortBy.LATENCY }, only: ["sim-us", "sim-unknown"] }));
    expect(latency.plan).toEqual(["sim-unknown/chat-small", "sim-us/chat-small"]);
    const throughput = await explain(
      chat({ sort: { by: SortBy.THROUGHPUT }, only: ["sim-us", "sim-unknown"] }),
    );
    expect(throughput.plan).toEqual(["sim-us/chat-small", "sim-unknown/chat-small"]);
    // Soft preference: too slow to first token → ranked lower, not excluded.
    const soft = await explain(
      chat({ sort: { by: SortBy.THROUGHPUT }, only: ["sim-us", "sim-unknown"], preferredMaxLatency: 0.05 }),
    );
    expect(soft.plan).toEqual(["sim-unknown/chat-small", "sim-us/chat-small"]);
  });
});
