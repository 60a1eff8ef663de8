import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { request } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type * as grpc from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MasterKey } from "../../src/auth/byok.js";
import { BudgetPeriod, BudgetService } from "../../src/gen/sovereign/v1/budget_pb.js";
import { ByokService } from "../../src/gen/sovereign/v1/byok_pb.js";
import { CatalogService } from "../../src/gen/sovereign/v1/catalog_pb.js";
import { KeyService, Role } from "../../src/gen/sovereign/v1/keys_pb.js";
import { RouterService } from "../../src/gen/sovereign/v1/router_pb.js";
import { type Simulator, startSimulator } from "../../src/simulator/simulator.js";
import { REPO } from "../support/app.js";
import { createFreshDatabase, dropDatabase } from "../support/databases.js";
import { GrpcJsClient } from "../support/grpc.js";
import { startHeldBundleServer } from "../support/held-bundle.js";
import { type ServeProcess, spawnServe } from "../support/serve-process.js";

/**
 * `sovr serve` with SOVR_WORKERS=2 on Postgres, the real binary: two workers share the ports
 * (node:cluster hands each new connection to the next worker), so every check below opens a
 * connection per call and looks at all of them.
 */
const base = process.env.DATABASE_URL;
const CALLS = 8;

/** A gRPC call on a connection of its own (a new channel, closed after). */
async function onFreshConnection<T>(
  address: string,
  key: string,
  call: (c: GrpcJsClient) => Promise<T>,
): Promise<T> {
  const client = new GrpcJsClient(address, { key });
  try {
    return await call(client);
  } finally {
    client.close();
  }
}

/** GET on a connection of its own. */
function getFresh(url: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { agent: false }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (d) => (body += d));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on("error", reject);
    req.end();
  });
}

/** The JSON lines of the output so far. */
function lines(s: ServeProcess): Record<string, unknown>[] {
  return s
    .out()
    .split("\n")
    .filter((l) => l.startsWith("{"))
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

async function until(cond: () => boolean, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

describe("sovr serve refuses SOVR_WORKERS > 1 on the embedded database", () => {
  it("exits 1 naming DATABASE_URL, before any worker starts", async () => {
    const dir = await mkdtemp(join(tmpdir(), "sovr-workers-pglite-"));
    try {
      const s = spawnServe({ SOVR_WORKERS: "2", SOVR_DATA_DIR: join(dir, "data") });
      expect(await s.exited).toBe(1);
      expect(s.out()).toMatch(/DATABASE_URL: required with SOVR_WORKERS=2/);
      expect(s.out()).not.toContain("sovr serving");
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe.skipIf(!base)("sovr serve with two workers, signalled while the first starts", () => {
  it("starts no further worker; the first drains once started; exit 0", async () => {
    // Start-up is held at a known point: the bundle server answers only after the signal.
    const bundles = await startHeldBundleServer();
    const dir = await mkdtemp(join(tmpdir(), "sovr-workers-signal-"));
    const url = await createFreshDatabase(base!);
    const s = spawnServe({
      DATABASE_URL: url,
      SOVR_WORKERS: "2",
      SOVR_DATA_DIR: join(dir, "data"),
      SOVR_SIMULATOR: "off",
      SOVR_LOG_FORMAT: "json",
      SOVR_POLICY_BUNDLE_URL: bundles.url,
    });
    try {
      await bundles.requested;
      s.proc.kill("SIGTERM");
      bundles.release();
      expect(await s.exited).toBe(0);
      const out = lines(s);
      const first = out.filter((l) => l.worker === 1).map((l) => l.msg);
      expect(first.indexOf("draining")).toBeGreaterThan(first.indexOf("sovr serving"));
      expect(first).toContain("stopped");
      expect(out.filter((l) => l.worker === 2)).toEqual([]);
      expect(out.map((l) => l.msg)).not.toContain("workers serving");
    } finally {
      s.proc.kill("SIGKILL");
      bundles.close();
      await dropDatabase(base!, url).catch(() => {});
      await rm(dir, { recursive: true, force: true });
    }
  }, 90_000);
});

describe.skipIf(!base)("sovr serve with two workers on one Postgres", () => {
  let dir: string;
  let url: string;
  let s: ServeProcess;
  let grpcAddress: string;
  let httpUrl: string;
  let devKey: string;
  let pids: number[];
  // The upstream, here: it keeps the credential each request presented.
  let sim: Simulator;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "sovr-workers-"));
    url = await createFreshDatabase(base!);
    sim = await startSimulator();
    s = spawnServe({
      SOVR_SIMULATOR: "off",
      SOVR_SIMULATOR_URL: sim.url,
      SOVR_MASTER_KEY: MasterKey.generate(),
      DATABASE_URL: url,
      SOVR_WORKERS: "2",
      SOVR_DATA_DIR: join(dir, "data"),
      SOVR_LOG_FORMAT: "json",
      SOVR_INSTANCE: "workers-test",
      // Only the relay tells a worker that a tenant now has a budget (not its re-read).
      SOVR_BUDGET_REFRESH_MS: "600000",
    });
    await until(
      () => lines(s).some((l) => l.msg === "workers serving") || s.proc.exitCode !== null,
      90_000,
      "workers serving",
    );
    const ready = lines(s).find((l) => l.msg === "workers serving");
    if (!ready) throw new Error(`no workers serving:\n${s.out()}`);
    pids = ready.pids as number[];
    const serving = lines(s).filter((l) => l.msg === "sovr serving");
    // Each worker listens on the same ports (the primary holds them).
    expect(new Set(serving.map((l) => `${l.worker} ${l.grpcPort} ${l.httpPort}`))).toEqual(
      new Set([1, 2].map((w) => `${w} ${serving[0]!.grpcPort} ${serving[0]!.httpPort}`)),
    );
    grpcAddress = `127.0.0.1:${serving[0]!.grpcPort}`;
    httpUrl = `http://127.0.0.1:${serving[0]!.httpPort}`;
    devKey = /export SOVR_KEY=(\S+)/.exec(s.out())![1]!;
  }, 120_000);

  afterAll(async () => {
    s?.proc.kill("SIGKILL");
    for (const pid of pids ?? []) if (alive(pid)) process.kill(pid, "SIGKILL");
    if (url) await dropDatabase(base!, url).catch(() => {});
    if (dir) await rm(dir, { recursive: true, force: true });
    await sim?.close();
  });

  const chat = (key: string) =>
    onFreshConnection(grpcAddress, key, (c) =>
      c.unary(RouterService, RouterService.method.chat, {
        model: "sim/chat-small",
        messages: [{ role: "user", content: "hello" }],
      }),
    );

  it("serves from both workers, and /metrics counts every worker's calls whichever answers it", async () => {
    // The first start's dev key was created once, by the first worker.
    expect(s.out().match(/DEVELOPMENT API KEY/g)).toHaveLength(1);
    for (let i = 0; i < CALLS; i++) expect((await chat(devKey)).choices).toHaveLength(1);
    const served = () =>
      lines(s).filter((l) => l.operation === "sovereign.v1.RouterService/Chat" && l.outcome === "ok");
    // The access lines reach the pipe a little after the answers.
    await until(() => served().length >= CALLS, 10_000, "the access lines");
    expect(served()).toHaveLength(CALLS);
    expect(new Set(served().map((l) => l.worker))).toEqual(new Set([1, 2]));

    for (let i = 0; i < 4; i++) {
      const { status, body } = await getFresh(`${httpUrl}/metrics`);
      expect(status).toBe(200);
      expect(body).toContain(`sovr_requests_total{outcome="success"} ${CALLS}`);
      // Counters and gauges are summed (each worker's process metrics too), a version given once.
      expect(body).toMatch(/^sovr_process_process_cpu_user_seconds_total \d/m);
      expect(body.match(/^sovr_process_nodejs_version_info\{/gm)).toHaveLength(1);
    }
  });

  it("a key created through one worker is good at once in every worker; revoked, it is refused at once", async () => {
    const created = await onFreshConnection(grpcAddress, devKey, (c) =>
      c.unary(KeyService, KeyService.method.createKey, { tenant: "acme", roles: [Role.CLIENT] }),
    );
    for (let i = 0; i < CALLS; i++) expect((await chat(created.secret)).choices).toHaveLength(1);
    await onFreshConnection(grpcAddress, devKey, (c) =>
      c.unary(KeyService, KeyService.method.revokeKey, { keyId: created.key!.keyId }),
    );
    for (let i = 0; i < CALLS; i++) {
      const err = (await chat(created.secret).catch((e: grpc.ServiceError) => e)) as grpc.ServiceError;
      expect(err.code, `call ${i}`).toBe(16); // UNAUTHENTICATED
    }
  });

  it("a tenant's BYOK key set through one worker goes upstream at once from every worker; removed, at once no more", async () => {
    const client = await onFreshConnection(grpcAddress, devKey, (c) =>
      c.unary(KeyService, KeyService.method.createKey, { tenant: "byok-t", roles: [Role.CLIENT] }),
    );
    const toEu = async () => {
      const n = sim.stats("default").credentials.length;
      for (let i = 0; i < CALLS; i++)
        await onFreshConnection(grpcAddress, client.secret, (c) =>
          c.unary(RouterService, RouterService.method.chat, {
            model: "sim/chat-small",
            provider: { only: ["sim-eu"] },
            messages: [{ role: "user", content: "hello" }],
          }),
        );
      return sim.stats("default").credentials.slice(n);
    };
    // Every worker has read (and keeps, 5 s) the tenant's keys: none yet.
    const before = await toEu();
    expect(before).toHaveLength(CALLS);
    expect(before).not.toContain("byok-t-key");
    // A tenant's BYOK keys are its admins' to manage (not even the operator's).
    const admin = await onFreshConnection(grpcAddress, devKey, (c) =>
      c.unary(KeyService, KeyService.method.createKey, { tenant: "byok-t", roles: [Role.ADMIN] }),
    );
    const byok = (method: "setKey" | "removeKey", input: object) =>
      onFreshConnection(grpcAddress, admin.secret, (c) =>
        c.unary(ByokService, ByokService.method[method] as never, {
          tenant: "byok-t",
          provider: "sim-eu",
          ...input,
        }),
      );
    await byok("setKey", { key: "byok-t-key" });
    expect(await toEu()).toEqual(Array(CALLS).fill("byok-t-key"));
    await byok("removeKey", {});
    expect(await toEu()).toEqual(before);
  });

  it("a budget set through one worker is enforced at once by every worker; deleted, at once no more", async () => {
    const client = await onFreshConnection(grpcAddress, devKey, (c) =>
      c.unary(KeyService, KeyService.method.createKey, { tenant: "budget-t", roles: [Role.CLIENT] }),
    );
    const calls = () =>
      Promise.all(
        Array.from({ length: CALLS }, () =>
          chat(client.secret).then(
            () => "ok",
            (e: grpc.ServiceError) => e.code,
          ),
        ),
      );
    expect(await calls()).toEqual(Array(CALLS).fill("ok"));
    const budgets = (method: "setBudget" | "deleteBudget", input: object) =>
      onFreshConnection(grpcAddress, devKey, (c) =>
        c.unary(BudgetService, BudgetService.method[method] as never, {
          tenant: "budget-t",
          period: BudgetPeriod.DAY,
          ...input,
        }),
      );
    // One token a day: no request fits.
    await budgets("setBudget", { tokens: 1n });
    expect(await calls()).toEqual(Array(CALLS).fill(8)); // RESOURCE_EXHAUSTED
    await budgets("deleteBudget", {});
    expect(await calls()).toEqual(Array(CALLS).fill("ok"));
  });

  it("ApplyCatalog through one worker: every worker serves the revision when it answers, a restarted one too", async () => {
    const names = (await readdir(join(REPO, "catalog"))).filter((n) => n.endsWith(".yaml")).sort();
    const files = await Promise.all(
      names.map(async (name) => ({ name, content: await readFile(join(REPO, "catalog", name), "utf8") })),
    );
    const sim = files.find((f) => f.name === "simulator.yaml")!;
    const before = sim.content;
    sim.content = before.replace(
      "pricing: { prompt: 2.0, completion: 6.0 }",
      "pricing: { prompt: 2.5, completion: 6.0 }",
    );
    expect(sim.content).not.toBe(before);
    const applied = await onFreshConnection(grpcAddress, devKey, (c) =>
      c.unary(CatalogService, CatalogService.method.applyCatalog, { files }),
    );
    expect(applied.changed).toBe(true);
    const revision = applied.revision!.revision;
    const revisions = async () => {
      const seen: string[] = [];
      for (let i = 0; i < CALLS; i++)
        seen.push(
          (
            await onFreshConnection(grpcAddress, devKey, (c) =>
              c.unary(CatalogService, CatalogService.method.listEndpoints, {}),
            )
          ).revision,
        );
      return seen;
    };
    expect(await revisions()).toEqual(Array(CALLS).fill(revision));

    // A worker that dies is started again, and serves the applied revision, not the directory's.
    process.kill(pids[1]!, "SIGKILL");
    await until(() => lines(s).some((l) => l.msg === "worker restarted"), 30_000, "worker restarted");
    expect(lines(s).find((l) => l.msg === "worker exited")).toMatchObject({ worker: 2, signal: "SIGKILL" });
    expect(await revisions()).toEqual(Array(CALLS).fill(revision));
    for (let i = 0; i < CALLS; i++) expect((await chat(devKey)).choices).toHaveLength(1);
    pids = [pids[0]!, lines(s).find((l) => l.msg === "worker restarted")!.pid as number];
  });

  it("on SIGTERM the workers drain and the primary exits 0 after them", async () => {
    s.proc.kill("SIGTERM");
    expect(await s.exited).toBe(0);
    expect(
      lines(s)
        .filter((l) => l.msg === "stopped")
        .map((l) => l.worker)
        .sort(),
    ).toEqual([1, 2]);
    for (const pid of pids) expect(alive(pid), `worker pid ${pid}`).toBe(false);
  });
});
