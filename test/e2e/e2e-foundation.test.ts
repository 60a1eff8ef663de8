import * as grpc from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { verifyEnvelope } from "../../src/audit/dsse.js";
import { KeyRing } from "../../src/audit/keys.js";
import { leafHash } from "../../src/audit/merkle.js";
import { candidateRows } from "../../src/audit/record-candidates.js";
import { Health, HealthCheckResponse_ServingStatus } from "../../src/gen/grpc/health/v1/health_pb.js";
import { RouterService } from "../../src/gen/sovereign/v1/router_pb.js";
import { appDatabases, startTestApp, type TestApp } from "../support/app.js";
import { collect, GrpcJsClient } from "../support/grpc.js";

describe.each(appDatabases)("one request through every stage (%s)", (database) => {
  let t: TestApp;
  let client: GrpcJsClient;
  beforeAll(async () => {
    t = await startTestApp({ database });
    client = new GrpcJsClient(`127.0.0.1:${t.app.servers.grpcPort}`);
  });
  afterAll(async () => {
    client?.close();
    await t?.close();
  });

  it("reports SERVING on grpc.health.v1", async () => {
    const res = await client.unary(Health, Health.method.check, { service: "" });
    expect(res.status).toBe(HealthCheckResponse_ServingStatus.SERVING);
  });

  it("streams a completion over plain gRPC and leaves a signed, durable decision record", async () => {
    const before = t.simulator.stats("sim-eu").requests;
    const events = await collect(
      client.serverStream(RouterService, RouterService.method.chatStream, {
        model: "sim/chat-small",
        region: "eu",
        messages: [{ role: "user", content: "Say hello" }],
      }),
    );
    // Route first, then deltas, then the finish with usage.
    expect(events[0]?.event.case).toBe("route");
    const route = events[0]!.event.value as { decisionId: string; endpointId: string };
    expect(route.endpointId).toBe("sim-eu/chat-small");
    const deltas = events.filter((e) => e.event.case === "delta");
    expect(deltas.length).toBeGreaterThan(1);
    const last = events.at(-1)!;
    expect(last.event.case).toBe("finish");
    expect(t.simulator.stats("sim-eu").requests).toBe(before + 1);
    expect(t.simulator.stats("sim-eu").requestIds.at(-1)).toBe(route.decisionId);

    await t.app.audit.settled();
    const row = await t.app.db.db
      .selectFrom("audit_log")
      .selectAll()
      .where("decision_id", "=", route.decisionId)
      .where("kind", "=", "decision")
      .executeTakeFirstOrThrow();
    const keys = await t.app.db.db.selectFrom("signing_keys").selectAll().execute();
    const ring = new KeyRing();
    for (const k of keys)
      ring.add({ keyId: k.key_id, publicKeyRaw: k.public_key, validFromUs: 0, validUntilUs: null });
    const verified = verifyEnvelope(JSON.parse(row.envelope), ring);
    expect(verified.ok).toBe(true);
    expect(Array.from(row.leaf_hash)).toEqual(Array.from(leafHash(new TextEncoder().encode(row.envelope))));
    const record = JSON.parse(new TextDecoder().decode((verified as { payload: Uint8Array }).payload));
    expect(record).toMatchObject({
      kind: "decision",
      decision_id: route.decisionId,
      plan: ["sim-eu/chat-small"],
      request: { model: "sim/chat-small", region: "eu", message_count: 1 },
    });
    // Only the EU endpoint survives region=eu; the others carry the policy's reasons.
    const us = candidateRows(record).find((c) => c.endpoint_id === "sim-us/chat-small")!;
    expect(us.eligible).toBe(false);
    expect(us.exclusions[0]!.reason).toMatch(/^residency/);
    // The record is not the prompt: its text appears nowhere in it.
    expect(row.envelope).not.toContain("Say hello");
    expect(JSON.stringify(record)).not.toContain("Say hello");
  });

  it("makes the decision record durable before the upstream sees the request", async () => {
    // Hold the upstream: when it receives the request, the record must already be committed.
    t.simulator.setBehaviour("sim-eu", { ttftMs: 300 });
    const stream = client.serverStream(RouterService, RouterService.method.chatStream, {
      model: "sim/chat-small",
      region: "eu",
      messages: [{ role: "user", content: "x" }],
    });
    const done = collect(stream);
    const started = Date.now();
    while (t.simulator.stats("sim-eu").requestIds.length === 0 || Date.now() - started < 50) {
      await new Promise((r) => setTimeout(r, 10));
    }
    const id = t.simulator.stats("sim-eu").requestIds.at(-1)!;
    await t.app.audit.settled();
    const row = await t.app.db.db
      .selectFrom("audit_log")
      .select("seq")
      .where("decision_id", "=", id)
      .where("kind", "=", "decision")
      .executeTakeFirst();
    expect(row).toBeDefined();
    await done;
    t.simulator.resetBehaviour();
  });

  it("answers precise errors for bad input", async () => {
    const call = (req: object) =>
      client.unary(RouterService, RouterService.method.chat, req as never).then(
        () => undefined,
        (e: grpc.ServiceError) => e,
      );
    const missing = await call({ messages: [{ role: "user", content: "x" }] });
    expect(missing?.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(missing?.details).toMatch(/^model/);
    const unknown = await call({ model: "nobody/nothing", messages: [{ role: "user", content: "x" }] });
    expect(unknown?.code).toBe(grpc.status.NOT_FOUND);
    const role = await call({ model: "sim/chat-small", messages: [{ role: "wizard", content: "x" }] });
    expect(role?.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(role?.details).toMatch(/messages\[0\]\.role/);
  });

  it("refuses with FailedPrecondition and per-candidate reasons when nothing is eligible", async () => {
    const err = await client
      .unary(RouterService, RouterService.method.chat, {
        model: "sim/chat-small",
        region: "eu",
        provider: { only: ["sim-us"] },
        messages: [{ role: "user", content: "x" }],
      })
      .then(
        () => undefined,
        (e: grpc.ServiceError) => e,
      );
    expect(err?.code).toBe(grpc.status.FAILED_PRECONDITION);
    expect(err?.details).toContain("sim-eu/chat-small: only:");
    expect(err?.details).toContain("sim-us/chat-small: residency");
  });
});
