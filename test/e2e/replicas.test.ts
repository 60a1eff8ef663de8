import { type ChildProcess, execFile, spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import * as grpc from "@grpc/grpc-js";
import pg from "pg";
import { afterAll, describe, expect, it } from "vitest";
import { RouterService } from "../../src/gen/sovereign/v1/router_pb.js";
import { type Simulator, startSimulator } from "../../src/simulator/simulator.js";
import { REPO } from "../support/app.js";
import { createFreshDatabase, dropDatabase } from "../support/databases.js";
import { GrpcJsClient } from "../support/grpc.js";

const run = promisify(execFile);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Replica {
  proc: ChildProcess;
  out: () => string;
  grpc: string;
  http: string;
}

function startReplica(name: string, base: number, env: Record<string, string>): Replica {
  const proc = spawn(process.execPath, [join(REPO, "bin/sovr.js"), "serve"], {
    cwd: REPO,
    env: {
      ...process.env,
      ...env,
      SOVR_INSTANCE: name,
      SOVR_GRPC_PORT: String(base),
      SOVR_HTTP_PORT: String(base + 1),
      SOVR_SIMULATOR: "off",
      SOVR_LOG_LEVEL: "info",
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  proc.stdout!.on("data", (d) => (out += d));
  proc.stderr!.on("data", (d) => (out += d));
  return { proc, out: () => out, grpc: `127.0.0.1:${base}`, http: `http://127.0.0.1:${base + 1}` };
}

async function until(cond: () => boolean, ms: number, what: string): Promise<void> {
  const start = Date.now();
  while (!cond()) {
    if (Date.now() - start > ms) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

describe.skipIf(!process.env.DATABASE_URL)("two replicas on one Postgres", () => {
  const cleanup: (() => Promise<unknown> | unknown)[] = [];
  afterAll(async () => {
    for (const c of cleanup.reverse()) await Promise.resolve(c()).catch(() => {});
  });

  it("share one dense, verifiable log; killing one leaves the other appending within seconds", async () => {
    const base = process.env.DATABASE_URL!;
    const url = await createFreshDatabase(base);
    cleanup.push(() => dropDatabase(base, url));
    const sim: Simulator = await startSimulator();
    cleanup.push(() => sim.close());
    const dir = await mkdtemp(join(tmpdir(), "sovr-replicas-"));
    cleanup.push(() => rm(dir, { recursive: true, force: true }));
    const shared = {
      DATABASE_URL: url,
      SOVR_SIMULATOR_URL: sim.url,
      SOVR_CATALOG_DIR: join(REPO, "test/fixtures/catalog"),
      // Replicas sign with the same key (a secret shared like the database credentials).
      SOVR_KEYS_DIR: join(dir, "keys"),
      SOVR_CHECKPOINT_INTERVAL_MS: "300",
    };
    const a = startReplica("replica-a", 26051, { ...shared, SOVR_DATA_DIR: join(dir, "a") });
    cleanup.push(() => a.proc.kill("SIGKILL"));
    await until(() => a.out().includes("sovr serving"), 30_000, "replica a");
    const key = /export SOVR_KEY=(\S+)/.exec(a.out())![1]!;
    const b = startReplica("replica-b", 26061, { ...shared, SOVR_DATA_DIR: join(dir, "b") });
    cleanup.push(() => b.proc.kill("SIGKILL"));
    await until(() => b.out().includes("sovr serving"), 30_000, "replica b");

    const clients = [new GrpcJsClient(a.grpc, { key }), new GrpcJsClient(b.grpc, { key })];
    cleanup.push(() => clients.forEach((c) => c.close()));
    // A failure keeps its message, so an assertion on the codes says why.
    const results: { replica: number; at: number; code: grpc.status; details?: string }[] = [];
    let running = true;
    const worker = async (i: number) => {
      while (running) {
        const replica = i % 2;
        const { code, details } = await clients[replica]!.unary(RouterService, RouterService.method.chat, {
          model: "sim/chat-small",
          region: "eu",
          messages: [{ role: "user", content: "replicated" }],
        }).then(
          () => ({ code: grpc.status.OK, details: undefined }),
          (e: grpc.ServiceError) => ({ code: e.code, details: e.details }),
        );
        results.push({ replica, at: Date.now(), code, ...(details === undefined ? {} : { details }) });
        if (code !== grpc.status.OK) await sleep(20);
      }
    };
    const workers = Array.from({ length: 8 }, (_, i) => worker(i));
    const served = (replica: number, after = 0) =>
      results.filter((r) => r.replica === replica && r.at > after && r.code === grpc.status.OK).length;
    await until(() => served(0) >= 20 && served(1) >= 20, 30_000, "load on both replicas");
    // Both replicas appended concurrently without a single failure.
    expect(results.filter((r) => r.code !== grpc.status.OK)).toEqual([]);

    const killedAt = Date.now();
    a.proc.kill("SIGKILL");
    // The survivor keeps serving: its next 20 requests succeed within seconds.
    await until(() => served(1, killedAt) >= 20, 10_000, "the survivor to keep appending");
    running = false;
    await Promise.all(workers);
    // The survivor kept appending: it served requests within seconds of the kill, and none of
    // its requests failed afterwards.
    const bAfter = results.filter((r) => r.replica === 1 && r.at > killedAt);
    expect(bAfter.filter((r) => r.code !== grpc.status.OK)).toEqual([]);

    // One dense sequence, written by both replicas.
    const db = new pg.Client({ connectionString: url });
    await db.connect();
    cleanup.push(() => db.end());
    await sleep(800);
    const { rows } = await db.query<{ n: string; max: string; routers: string }>(
      "select count(*) as n, max(seq) as max, count(distinct (convert_from(decode(envelope::json->>'payload', 'base64'), 'UTF8')::json->>'router')) as routers from audit_log",
    );
    expect(Number(rows[0]!.max) + 1).toBe(Number(rows[0]!.n));
    expect(Number(rows[0]!.routers)).toBe(2);
    // Every request that reached the upstream has its decision record.
    const ids = new Set(
      (await db.query<{ decision_id: string }>("select decision_id from audit_decisions")).rows.map(
        (r) => r.decision_id,
      ),
    );
    expect(sim.stats("default").requestIds.length + sim.stats("sim-eu").requestIds.length).toBeGreaterThan(
      20,
    );
    expect(sim.stats("sim-eu").requestIds.filter((id) => !ids.has(id))).toEqual([]);

    // The whole log exports and verifies offline: signatures, sequence, roots, consistency.
    const env = { ...process.env, SOVR_URL: b.http, SOVR_KEY: key };
    await run(
      process.execPath,
      [join(REPO, "bin/sovr.js"), "audit", "export", "--out", join(dir, "export")],
      { cwd: REPO, env },
    );
    // Against keys pinned from the service, not the export's own keys.json.
    await run(
      process.execPath,
      [join(REPO, "bin/sovr.js"), "audit", "keys", "--out", join(dir, "pinned.json")],
      { cwd: REPO, env },
    );
    const verify = await run(
      process.execPath,
      [
        join(REPO, "bin/sovr.js"),
        "audit",
        "verify",
        join(dir, "export"),
        "--trusted-keys",
        join(dir, "pinned.json"),
      ],
      { cwd: REPO, env },
    ).catch((e: { stdout: string; stderr: string }) => {
      throw new Error(
        `verify failed: ${e.stdout} ${e.stderr}\n--- replica a:\n${a.out().slice(-3000)}\n--- replica b:\n${b.out().slice(-3000)}`,
      );
    });
    expect(verify.stdout).toMatch(/ok|verified/i);
    // Both replicas numbered the tenant's records (record format v2): one dense tenant_seq.
    expect(verify.stdout).toMatch(/tenant_seq/);
  }, 90_000);
});
