import { type ChildProcess, execFile, spawn, spawnSync } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import OpenAI from "openai";
import { afterAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { RouterService } from "../../src/gen/sovereign/v1/router_pb.js";
import { type Simulator, startSimulator } from "../../src/simulator/simulator.js";
import { REPO } from "../support/app.js";
import { createFreshDatabase, dropDatabase } from "../support/databases.js";
import { GrpcJsClient } from "../support/grpc.js";
import { type ServeProcess, spawnServe, untilServing } from "../support/serve-process.js";

/**
 * deploy/compose.yaml as processes: one Postgres (a fresh database), two `sovr serve` replicas
 * sharing it and one signing key, and HAProxy running deploy/haproxy.cfg — the compose file's
 * own load balancer configuration — in front. Requests through the balancer reach both
 * replicas on both protocols, and one export of the shared log verifies with records from both.
 * Needs haproxy on PATH (Debian's package; .ci/run installs it).
 */
const run = promisify(execFile);
const haproxy = spawnSync("haproxy", ["-v"]).status === 0;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

async function requestsServed(replica: ServeProcess): Promise<number> {
  const text = await (await fetch(`${replica.httpUrl}/metrics`)).text();
  return [...text.matchAll(/^sovr_requests_total\{outcome="success"\} (\d+)/gm)].reduce(
    (n, m) => n + Number(m[1]),
    0,
  );
}

const sovr = (args: string[], env: Record<string, string>) =>
  run(process.execPath, [join(REPO, "bin/sovr.js"), ...args], { cwd: REPO, env: { ...process.env, ...env } });

describe("deploy/haproxy.cfg matches deploy/compose.yaml", () => {
  it("the load balancer service sets every variable the configuration reads", async () => {
    const cfg = await readFile(join(REPO, "deploy/haproxy.cfg"), "utf8");
    const compose = parse(await readFile(join(REPO, "deploy/compose.yaml"), "utf8"));
    const config = cfg.replace(/#.*$/gm, "");
    const used = new Set([...config.matchAll(/\$\{(\w+)\}/g)].map((m) => m[1]));
    expect([...used].sort()).toEqual(Object.keys(compose.services.lb.environment).sort());
    expect(Object.keys(compose.services).sort()).toEqual(["keygen", "lb", "postgres", "sovr-a", "sovr-b"]);
  });
});

describe.skipIf(!process.env.DATABASE_URL || !haproxy)("the compose topology as processes", () => {
  const cleanup: (() => unknown)[] = [];
  afterAll(async () => {
    for (const c of cleanup.reverse()) await Promise.resolve(c()).catch(() => {});
  });

  it("HAProxy spreads gRPC and HTTP calls over two replicas; one export verifies records from both", async () => {
    const base = process.env.DATABASE_URL!;
    const url = await createFreshDatabase(base);
    cleanup.push(() => dropDatabase(base, url));
    const sim: Simulator = await startSimulator();
    cleanup.push(() => sim.close());
    const dir = await mkdtemp(join(tmpdir(), "sovr-topology-"));
    cleanup.push(() => rm(dir, { recursive: true, force: true }));
    const keysDir = join(dir, "keys");

    // compose's keygen service: one signing key, created before either replica starts.
    await sovr(["keys", "generate"], { SOVR_KEYS_DIR: keysDir });
    const shared = {
      DATABASE_URL: url,
      SOVR_KEYS_DIR: keysDir,
      SOVR_SIMULATOR: "off",
      SOVR_SIMULATOR_URL: sim.url,
      SOVR_CATALOG_DIR: join(REPO, "test/fixtures/catalog"),
      SOVR_CHECKPOINT_INTERVAL_MS: "300",
    };
    const replicas = ["sovr-a", "sovr-b"].map((name) =>
      spawnServe({ ...shared, SOVR_INSTANCE: name, SOVR_DATA_DIR: join(dir, name) }),
    );
    for (const r of replicas) cleanup.push(() => r.proc.kill("SIGKILL"));
    const [a, b] = await Promise.all(replicas.map((r) => untilServing(r)));
    // The first replica to create the key table announces the development key.
    const key = /export SOVR_KEY=(\S+)/.exec(a!.out() + b!.out())![1]!;

    const [grpcPort, httpPort] = [await freePort(), await freePort()];
    const port = (address: string) => address.split(":")[1]!;
    const lb: ChildProcess = spawn("haproxy", ["-db", "-f", join(REPO, "deploy/haproxy.cfg")], {
      env: {
        ...process.env,
        LB_GRPC_BIND: `127.0.0.1:${grpcPort}`,
        LB_HTTP_BIND: `127.0.0.1:${httpPort}`,
        SOVR_A_HOST: "127.0.0.1",
        SOVR_A_GRPC_PORT: port(a!.grpcAddress),
        SOVR_A_HTTP_PORT: new URL(a!.httpUrl).port,
        SOVR_B_HOST: "127.0.0.1",
        SOVR_B_GRPC_PORT: port(b!.grpcAddress),
        SOVR_B_HTTP_PORT: new URL(b!.httpUrl).port,
      },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let lbOut = "";
    lb.stdout!.on("data", (d) => (lbOut += d));
    lb.stderr!.on("data", (d) => (lbOut += d));
    cleanup.push(() => lb.kill("SIGKILL"));
    const lbHttp = `http://127.0.0.1:${httpPort}`;
    for (let i = 0; ; i++) {
      const ok = await fetch(`${lbHttp}/readyz`).then(
        (r) => r.ok,
        () => false,
      );
      if (ok) break;
      if (i > 200 || lb.exitCode !== null) throw new Error(`haproxy did not come up:\n${lbOut}`);
      await sleep(50);
    }

    // HTTP through the balancer (the openai SDK, one keep-alive client): both replicas serve.
    const before = await Promise.all([a!, b!].map(requestsServed));
    const openai = new OpenAI({ baseURL: `${lbHttp}/v1`, apiKey: key, maxRetries: 0 });
    for (let i = 0; i < 6; i++) {
      const c = await openai.chat.completions.create({
        model: "sim/chat-small",
        messages: [{ role: "user", content: `through the balancer over HTTP ${i}` }],
      });
      expect(c.choices[0]!.message.content).toBeTruthy();
    }
    const afterHttp = await Promise.all([a!, b!].map(requestsServed));
    expect(afterHttp[0]! - before[0]!).toBeGreaterThan(0);
    expect(afterHttp[1]! - before[1]!).toBeGreaterThan(0);
    expect(afterHttp[0]! + afterHttp[1]! - before[0]! - before[1]!).toBe(6);

    // gRPC through the balancer (grpc-js, one HTTP/2 connection): each call is balanced on its own.
    const client = new GrpcJsClient(`127.0.0.1:${grpcPort}`, { key });
    cleanup.push(() => client.close());
    for (let i = 0; i < 6; i++) {
      const res = await client.unary(RouterService, RouterService.method.chat, {
        model: "sim/chat-small",
        region: "eu",
        messages: [{ role: "user", content: `through the balancer over gRPC ${i}` }],
      });
      expect(res.route?.decisionId).toBeTruthy();
    }
    const afterGrpc = await Promise.all([a!, b!].map(requestsServed));
    expect(afterGrpc[0]! - afterHttp[0]!).toBeGreaterThan(0);
    expect(afterGrpc[1]! - afterHttp[1]!).toBeGreaterThan(0);
    expect(afterGrpc[0]! + afterGrpc[1]! - afterHttp[0]! - afterHttp[1]!).toBe(6);

    // One export of the shared log, through the balancer, verifies offline and holds records
    // signed by both replicas.
    const out = join(dir, "export");
    const env = { SOVR_URL: lbHttp, SOVR_KEY: key };
    await sovr(["audit", "export", "--out", out], env);
    // Against the keys pinned from the service (through the balancer), not the export's own.
    await sovr(["audit", "keys", "--out", join(dir, "pinned.json")], env);
    const verify = await sovr(
      ["audit", "verify", out, "--trusted-keys", join(dir, "pinned.json")],
      env,
    ).catch((e: { stdout: string; stderr: string }) => {
      throw new Error(`verify failed: ${e.stdout} ${e.stderr}`);
    });
    expect(verify.stdout).toMatch(/ok|verified/i);
    // Decision records name the replica that routed them (outcomes name none; admin records —
    // each replica's start, the key created — name the replica that made the change).
    const routers = (await readFile(join(out, "records.jsonl"), "utf8"))
      .trim()
      .split("\n")
      .map((line) => {
        const { envelope } = JSON.parse(line) as { envelope: { payload: string } };
        return JSON.parse(Buffer.from(envelope.payload, "base64").toString("utf8")) as {
          kind?: string;
          router?: string;
        };
      })
      .filter((r) => r.kind !== "admin" && r.router !== undefined)
      .map((r) => r.router);
    expect(routers).toHaveLength(12);
    expect([...new Set(routers)].sort()).toEqual(["sovr-a", "sovr-b"]);
  }, 90_000);
});
