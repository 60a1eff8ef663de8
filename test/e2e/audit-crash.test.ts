/**
 * Durability under a crash (DESIGN §8, issue 6): the real `sovr serve` process is killed with
 * SIGKILL under concurrent load and restarted on the same data. Every request that reached the
 * upstream (the simulator runs in this test process and notes each `x-request-id`, which is
 * the decision id) must have its decision record, and an export of the log must verify. On the
 * embedded database with its journal (SOVR_AUDIT_JOURNAL, on by default) and without: the
 * records acknowledged from the journal but not yet in the database go in when the server
 * starts again.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Code, ConnectError } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { verifyExport } from "../../src/audit/verifier.js";
import { auditClient, exportCommand } from "../../src/cli/audit-commands.js";
import { type Simulator, startSimulator } from "../../src/simulator/simulator.js";
import { REPO } from "../support/app.js";
import { chat } from "../support/audit-live.js";
import { createFreshDatabase, dropDatabase } from "../support/databases.js";
import { GrpcJsClient } from "../support/grpc.js";
import { seedEmbeddedDatabase } from "../support/pglite-template.js";

async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, "127.0.0.1", () => r()));
  const port = (srv.address() as { port: number }).port;
  await new Promise((r) => srv.close(r));
  return port;
}

interface Served {
  proc: ChildProcess;
  out: () => string;
  exited: Promise<unknown>;
}

function serve(env: Record<string, string>): Served {
  const proc = spawn(process.execPath, [join(REPO, "bin/sovr.js"), "serve"], {
    cwd: REPO,
    env: { ...process.env, SOVR_LOG_LEVEL: "info", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  proc.stdout!.on("data", (d) => (out += d));
  proc.stderr!.on("data", (d) => (out += d));
  const exited = new Promise((r) => proc.on("exit", r));
  return { proc, out: () => out, exited };
}

async function waitFor(cond: () => boolean, ms: number, what: () => string): Promise<void> {
  const start = Date.now();
  while (!cond()) {
    if (Date.now() - start > ms) throw new Error(`timed out: ${what()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const databases: ("pglite" | "pglite-journal" | "postgres")[] = process.env.DATABASE_URL
  ? ["pglite", "pglite-journal", "postgres"]
  : ["pglite", "pglite-journal"];

describe.each(databases)("kill -9 under load, restart (%s)", (database) => {
  let dir: string;
  let simulator: Simulator;
  let dbUrl = "";
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "sovr-crash-"));
    simulator = await startSimulator();
    if (database === "postgres") dbUrl = await createFreshDatabase(process.env.DATABASE_URL!);
    else await seedEmbeddedDatabase(join(dir, "data"));
  });
  afterAll(async () => {
    await simulator?.close();
    await rm(dir, { recursive: true, force: true });
    if (dbUrl) await dropDatabase(process.env.DATABASE_URL!, dbUrl);
  });

  it("keeps the decision record of every request that reached the upstream, and the log verifies", async () => {
    const [grpcPort, httpPort] = [await freePort(), await freePort()];
    const env = {
      SOVR_GRPC_PORT: String(grpcPort),
      SOVR_HTTP_PORT: String(httpPort),
      SOVR_SIMULATOR: "off",
      SOVR_SIMULATOR_URL: simulator.url,
      SOVR_CATALOG_DIR: join(REPO, "test/fixtures/catalog"),
      SOVR_CATALOG_WATCH: "off",
      SOVR_DATA_DIR: join(dir, "data"),
      SOVR_AUTH: "off",
      SOVR_CHECKPOINT_EVERY: "20",
      DATABASE_URL: dbUrl,
      SOVR_AUDIT_JOURNAL: database === "pglite-journal" ? "on" : "off",
    };
    // Upstream answers take a while, so requests are in every stage when the kill comes.
    simulator.setBehaviour("sim-eu", { ttftMs: 30 });
    let s = serve(env);
    await waitFor(() => s.out().includes("sovr serving"), 30_000, s.out);

    const client = new GrpcJsClient(`127.0.0.1:${grpcPort}`);
    let stop = false;
    let completed = 0;
    const worker = async () => {
      while (!stop) {
        try {
          await chat(client, "load");
          completed++;
        } catch {
          return; // the server is gone
        }
      }
    };
    const workers = Array.from({ length: 8 }, worker);
    await waitFor(
      () => completed >= 40,
      20_000,
      () => `${completed} completed`,
    );
    s.proc.kill("SIGKILL");
    await s.exited;
    stop = true;
    await Promise.all(workers);
    client.close();
    const reached = [...simulator.stats("sim-eu").requestIds];
    expect(reached.length).toBeGreaterThanOrEqual(40);

    const restart = Date.now();
    s = serve(env);
    try {
      await waitFor(() => s.out().includes("sovr serving"), 30_000, s.out);
      const restartMs = Date.now() - restart;
      const audit = auditClient({ url: `http://127.0.0.1:${httpPort}` });
      const missing: string[] = [];
      for (const id of reached) {
        try {
          const d = await audit.getDecision({ decisionId: id });
          expect(d.decision!.decisionId).toBe(id);
        } catch (err) {
          if (ConnectError.from(err).code === Code.NotFound) missing.push(id);
          else throw err;
        }
      }
      expect(missing).toEqual([]);
      // After the restart the log still serves and grows.
      const after = new GrpcJsClient(`127.0.0.1:${grpcPort}`);
      await chat(after, "after the crash");
      after.close();

      const out = join(dir, "export");
      await exportCommand({ url: `http://127.0.0.1:${httpPort}`, out, progress: () => {} });
      const v = await verifyExport(out);
      expect(v.firstError).toBeUndefined();
      expect(v.ok).toBe(true);
      expect(v.records).toBeGreaterThanOrEqual(reached.length + 1);
      expect(v.checkpointedSize).toBe(v.records);
      console.info(
        `crash (${database}): ${reached.length} requests reached the upstream before SIGKILL, all recorded; restart ${restartMs} ms; ${v.records} records verify`,
      );
    } finally {
      s.proc.kill("SIGTERM");
      await s.exited;
    }
  }, 90_000);
});
