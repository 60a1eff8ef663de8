import { copyFile, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as grpc from "@grpc/grpc-js";
import { sql } from "kysely";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FLUSH_FLOOR_MS } from "../../src/app/shutdown.js";
import { SEQUENCER_LOCK_KEY } from "../../src/audit/audit-log.js";
import { RouterService } from "../../src/gen/sovereign/v1/router_pb.js";
import { appDatabases, REPO, startTestApp, type TestApp } from "../support/app.js";
import { GrpcJsClient } from "../support/grpc.js";
import { PgInstance } from "../support/pg-instance.js";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const EU = { model: "sim/chat-small", region: "eu", messages: [{ role: "user", content: "fault" }] };

describe("fault injection: Postgres stopped and restarted under load", () => {
  let pg: PgInstance;
  let t: TestApp;
  let client: GrpcJsClient;
  beforeAll(async () => {
    pg = await PgInstance.start();
    t = await startTestApp({ env: { DATABASE_URL: pg.url } });
    client = new GrpcJsClient(`127.0.0.1:${t.app.servers.grpcPort}`);
  }, 60_000);
  afterAll(async () => {
    client?.close();
    await t?.close().catch(() => {});
    pg?.destroy();
  });

  it("fails closed while the database is down and recovers without a restart", async () => {
    const results: { started: number; at: number; code: grpc.status }[] = [];
    let running = true;
    const worker = async () => {
      while (running) {
        const started = Date.now();
        const code = await client.unary(RouterService, RouterService.method.chat, EU).then(
          () => grpc.status.OK,
          (e: grpc.ServiceError) => e.code,
        );
        results.push({ started, at: Date.now(), code });
        if (code !== grpc.status.OK) await sleep(20);
      }
    };
    const workers = Array.from({ length: 8 }, worker);
    await sleep(800);
    const okBefore = results.filter((r) => r.code === grpc.status.OK).length;
    expect(okBefore).toBeGreaterThan(10);

    // pg_ctl runs synchronously: the event loop waits with it, so calls already past their durable
    // record answer OK just after it returns. The outage is judged by calls started after that.
    pg.stop();
    const stoppedAt = Date.now();
    await sleep(500);
    // Down: nothing may reach the upstream (no durable record, no routing).
    const upstreamDuringOutage = t.simulator.stats("sim-eu").requests;
    const ready = await fetch(`${t.app.httpUrl}/readyz`);
    expect(ready.status).toBe(503);
    await sleep(1500);
    expect(t.simulator.stats("sim-eu").requests).toBe(upstreamDuringOutage);
    const down = results.filter((r) => r.started >= stoppedAt);
    expect(down.length).toBeGreaterThan(5);
    // Listed, not counted: a failure names each other answer, when its call started and when it
    // came (ms after the stop).
    expect(
      down
        .filter((r) => r.code !== grpc.status.UNAVAILABLE)
        .map((r) => ({ started: r.started - stoppedAt, ms: r.at - stoppedAt, code: r.code })),
    ).toEqual([]);

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

describe.each(appDatabases)("fault injection: a wedged database (%s)", (database) => {
  const TIMEOUT_MS = 500;
  const DRAIN_MS = 1000;
  it("refuses requests with Unavailable after SOVR_STORAGE_TIMEOUT_MS, and stop() ends within the drain time naming what it could not flush", async () => {
    const t = await startTestApp({
      database,
      env: { SOVR_STORAGE_TIMEOUT_MS: String(TIMEOUT_MS), SOVR_DRAIN_MS: String(DRAIN_MS) },
    });
    const client = new GrpcJsClient(`127.0.0.1:${t.app.servers.grpcPort}`);
    let unwedge = async () => {};
    try {
      expect((await client.unary(RouterService, RouterService.method.chat, EU)).route?.endpointId).toBe(
        "sim-eu/chat-small",
      );
      // Wedge the database: PGlite's one connection held by a statement that does not end soon;
      // on Postgres the log sequencer's lock held by another session (a stuck replica).
      if (database === "pglite") {
        const sleeping = sql`select pg_sleep(8)`.execute(t.app.db.db).then(
          () => {},
          () => {},
        );
        unwedge = () => sleeping;
      } else {
        const holder = new pg.Client({ connectionString: t.app.config.databaseUrl });
        await holder.connect();
        await holder.query("select pg_advisory_lock($1)", [SEQUENCER_LOCK_KEY]);
        unwedge = () => holder.end();
      }
      // Before the fix the call hung until the database came back (here: past its deadline).
      // On PGlite a record is durable once in the journal, before the database takes it: calls
      // are answered until the database has taken nothing for the bound, then refused.
      const until = Date.now() + 4 * TIMEOUT_MS;
      let refused: grpc.ServiceError | undefined;
      let answered = 0;
      while (!refused && Date.now() < until) {
        refused = await client
          .unary(RouterService, RouterService.method.chat, EU, undefined, { deadline: Date.now() + 5000 })
          .then(
            () => void answered++,
            (e: grpc.ServiceError) => e,
          );
        if (!refused) await sleep(20);
      }
      expect(refused?.code).toBe(grpc.status.UNAVAILABLE);
      if (database === "postgres") expect(answered).toBe(0);
      expect(t.logs.some((l) => l.includes(`audit log commit: no answer within ${TIMEOUT_MS} ms`))).toBe(
        true,
      );
      // Not ready, with the reason, instead of a hang. PGlite: the ping shares the wedged
      // connection. Postgres: `select 1` still answers, but the log's commit is stuck behind the
      // lock, and readiness says so.
      // (The commit began just after the refused call's append: past the bound a moment later.)
      let res = await fetch(`${t.app.httpUrl}/readyz`, { signal: AbortSignal.timeout(5000) });
      for (let i = 0; i < 20 && res.status !== 503; i++) {
        await new Promise((r) => setTimeout(r, 100));
        res = await fetch(`${t.app.httpUrl}/readyz`, { signal: AbortSignal.timeout(5000) });
      }
      expect(res.status).toBe(503);
      const { checks } = (await res.json()) as { checks: { database: string; audit_log: string } };
      if (database === "pglite")
        expect(checks.database).toBe(`unavailable: database: no answer within ${TIMEOUT_MS} ms`);
      expect(checks.audit_log).toMatch(/^commit stalled: no answer from the database for \d+ ms$/);

      const started = performance.now();
      const stopped = await t.app.stop();
      expect(performance.now() - started).toBeLessThan(Math.max(DRAIN_MS, FLUSH_FLOOR_MS) + 1000);
      expect(stopped.unflushed).toContain("final checkpoint");
      expect(t.logs.some((l) => l.includes("shutdown: final checkpoint did not complete"))).toBe(true);
    } finally {
      client.close();
      await unwedge();
      await t.close();
    }
  }, 60_000);
});
