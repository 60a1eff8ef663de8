import { copyFile, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as grpc from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RouterService } from "../src/gen/sovereign/v1/router_pb.js";
import { REPO, startTestApp, type TestApp } from "./support/app.js";
import { GrpcJsClient } from "./support/grpc.js";
import { PgInstance } from "./support/pg-instance.js";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const EU = { model: "sim/chat-small", region: "eu", messages: [{ role: "user", content: "fault" }] };

describe("fault injection: Postgres stopped and restarted under load", () => {
  let pg: PgInstance;
  let t: TestApp;
  let client: GrpcJsClient;
  beforeAll(async () => {
    pg = new PgInstance(55000 + (process.pid % 400));
    pg.start();
    t = await startTestApp({ env: { DATABASE_URL: pg.url } });
    client = new GrpcJsClient(`127.0.0.1:${t.app.servers.grpcPort}`);
  }, 60_000);
  afterAll(async () => {
    client?.close();
    await t?.close().catch(() => {});
    pg?.destroy();
  });

  it("fails closed while the database is down and recovers without a restart", async () => {
    const results: { at: number; code: grpc.status }[] = [];
    let running = true;
    const worker = async () => {
      while (running) {
        const code = await client.unary(RouterService, RouterService.method.chat, EU).then(
          () => grpc.status.OK,
          (e: grpc.ServiceError) => e.code,
        );
        results.push({ at: Date.now(), code });
        if (code !== grpc.status.OK) await sleep(20);
      }
    };
    const workers = Array.from({ length: 8 }, worker);
    await sleep(800);
    const okBefore = results.filter((r) => r.code === grpc.status.OK).length;
    expect(okBefore).toBeGreaterThan(10);

    const stoppedAt = Date.now();
    pg.stop();
    await sleep(500);
    // Down: nothing may reach the upstream (no durable record, no routing).
    const upstreamDuringOutage = t.simulator.stats("sim-eu").requests;
    const ready = await fetch(`${t.app.httpUrl}/readyz`);
    expect(ready.status).toBe(503);
    await sleep(1500);
    expect(t.simulator.stats("sim-eu").requests).toBe(upstreamDuringOutage);
    const down = results.filter((r) => r.at > stoppedAt + 500);
    expect(down.length).toBeGreaterThan(5);
    expect(down.every((r) => r.code === grpc.status.UNAVAILABLE)).toBe(true);

    const restartedAt = Date.now();
    pg.start();
    const deadline = Date.now() + 15_000;
    while (!results.some((r) => r.at > restartedAt && r.code === grpc.status.OK) && Date.now() < deadline)
      await sleep(100);
    await sleep(500);
    running = false;
    await Promise.all(workers);
    const recovered = results.filter((r) => r.at > restartedAt + 3000);
    expect(results.some((r) => r.at > restartedAt && r.code === grpc.status.OK)).toBe(true);
    expect(recovered.filter((r) => r.code !== grpc.status.OK)).toEqual([]);
    expect((await fetch(`${t.app.httpUrl}/readyz`)).status).toBe(200);

    // Every request that reached the upstream has its decision record, and (after retries) its outcome.
    await sleep(1000);
    await t.app.audit.drain();
    const sent = t.simulator.stats("sim-eu").requestIds;
    const rows = await t.app.db.db
      .selectFrom("audit_decisions")
      .select(["decision_id", "outcome_seq"])
      .execute();
    const byId = new Map(rows.map((r) => [r.decision_id, r]));
    const missing = sent.filter((id) => !byId.has(id));
    expect(missing).toEqual([]);
    const withoutOutcome = sent.filter((id) => byId.get(id)?.outcome_seq === null);
    expect(withoutOutcome).toEqual([]);
  }, 60_000);
});

describe("fault injection: policy bundle and upstream", () => {
  let t: TestApp;
  let dir: string;
  let client: GrpcJsClient;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "sovr-bundle-"));
    await copyFile(join(REPO, "policies/dist/bundle.tar.gz"), join(dir, "bundle.tar.gz"));
    t = await startTestApp({
      bundlePath: join(dir, "bundle.tar.gz"),
      env: { SOVR_FIRST_TOKEN_TIMEOUT_MS: "300" },
    });
    client = new GrpcJsClient(`127.0.0.1:${t.app.servers.grpcPort}`);
  });
  afterAll(async () => {
    client?.close();
    await t?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it("keeps the last good bundle when the bundle on disk is corrupted", async () => {
    const before = t.app.policy.current;
    await writeFile(join(dir, "bundle.tar.gz"), Buffer.from("this is not a gzip tarball"));
    const deadline = Date.now() + 5000;
    const rejected = () =>
      t.logs.find((l) => l.includes("policy bundle rejected; keeping the last good bundle"));
    while (!rejected() && Date.now() < deadline) await sleep(50);
    // The reason is logged, with the revision that stays in force.
    expect(JSON.parse(rejected()!)).toMatchObject({ reason: expect.any(String), keeping: before?.revision });
    expect(t.app.policy.current).toEqual(before);
    const res = await client.unary(RouterService, RouterService.method.chat, EU);
    expect(res.route?.endpointId).toBe("sim-eu/chat-small");
    const metrics = await (await fetch(`${t.app.httpUrl}/metrics`)).text();
    expect(metrics).toMatch(/sovr_policy_bundle_loads_total\{result="rejected"\} [1-9]/);
  });

  it("fires the first-token timeout on a hanging upstream and fails over", async () => {
    t.simulator.setBehaviour("sim-eu", { fault: { kind: "hang" } });
    const started = Date.now();
    const res = await client.unary(RouterService, RouterService.method.chat, {
      model: "sim/chat-small",
      provider: { order: ["sim-eu", "sim-us"] },
      messages: [{ role: "user", content: "x" }],
    });
    expect(res.route?.endpointId).toBe("sim-us/chat-small");
    expect(res.route?.attempt).toBe(2);
    expect(Date.now() - started).toBeGreaterThanOrEqual(290);
    t.simulator.resetBehaviour();
    await t.app.audit.drain();
    const outcome = await t.app.db.db
      .selectFrom("audit_log")
      .select("envelope")
      .where("decision_id", "=", res.route!.decisionId)
      .where("kind", "=", "outcome")
      .executeTakeFirstOrThrow();
    const payload = JSON.parse(Buffer.from(JSON.parse(outcome.envelope).payload, "base64").toString());
    expect(
      payload.attempts.map((a: { endpoint_id: string; error_class: string | null }) => [
        a.endpoint_id,
        a.error_class,
      ]),
    ).toEqual([
      ["sim-eu/chat-small", "timeout_first_token"],
      ["sim-us/chat-small", null],
    ]);
  });
});
