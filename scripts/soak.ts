/**
 * Soak: a bounded load run at a fixed rate over both APIs (gRPC `Chat` and the OpenAI-compatible
 * HTTP API) against a real `sovr serve` process, with upstream failures injected at a fixed rate,
 * then proof that nothing was lost: every request has its decision record and its outcome, every
 * request the upstream saw has a decision record. RSS of the server is reported before and after.
 *
 *   npm run soak -- [--seconds 60] [--rate 50] [--failure-rate 0.05]
 *
 * Exits non-zero when a record is missing. `test/e2e/soak.test.ts` runs a short version in CI.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import * as grpc from "@grpc/grpc-js";
import { openDatabase } from "../src/db/index.js";
import { ChatRequestSchema, ChatResponseSchema } from "../src/gen/sovereign/v1/router_pb.js";
import { startSimulator } from "../src/simulator/simulator.js";

export interface SoakOptions {
  seconds: number;
  rate: number;
  failureRate: number;
  /** Postgres URL (a fresh database is the caller's business); PGlite in a temp dir otherwise. */
  databaseUrl?: string;
  basePort?: number;
  log?: (line: string) => void;
}

export interface SoakResult {
  sent: number;
  byApi: Record<"grpc" | "http", { ok: number; failed: number }>;
  withoutDecisionId: number;
  missingDecision: string[];
  missingOutcome: string[];
  upstreamWithoutDecision: string[];
  injectedFaults: number;
  rssBeforeMiB: number;
  rssAfterMiB: number;
  lost: number;
}

const REPO = resolve(import.meta.dirname, "..");

function rssMiB(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return m ? Math.round(Number(m[1]) / 102.4) / 10 : Number.NaN;
}

export async function soak(o: SoakOptions): Promise<SoakResult> {
  const log = o.log ?? ((l: string) => process.stderr.write(`${l}\n`));
  const base = o.basePort ?? 27051;
  const sim = await startSimulator({ defaults: { completionTokens: 8 } });
  for (const inst of ["sim-eu", "sim-us", "sim-unknown"]) {
    sim.setBehaviour(inst, { fault: { kind: "status", status: 500 }, faultRate: o.failureRate });
  }
  const dir = await mkdtemp(join(tmpdir(), "sovr-soak-"));
  let server: ChildProcess | undefined;
  try {
    server = spawn(process.execPath, [join(REPO, "bin/sovr.js"), "serve"], {
      cwd: REPO,
      env: {
        ...process.env,
        DATABASE_URL: o.databaseUrl ?? "",
        SOVR_DATA_DIR: join(dir, "data"),
        SOVR_SIMULATOR: "off",
        SOVR_SIMULATOR_URL: sim.url,
        SOVR_CATALOG_DIR: join(REPO, "test/fixtures/catalog"),
        SOVR_GRPC_PORT: String(base),
        SOVR_HTTP_PORT: String(base + 1),
        SOVR_LOG_LEVEL: "warn",
      },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    server.stdout!.on("data", (d) => (out += d));
    server.stderr!.on("data", (d) => (out += d));
    const started = Date.now();
    while (
      !/export SOVR_KEY=(\S+)/.test(out) ||
      !(await fetch(`http://127.0.0.1:${base + 1}/readyz`).then(
        (r) => r.ok,
        () => false,
      ))
    ) {
      if (Date.now() - started > 60_000 || server.exitCode !== null)
        throw new Error(`server did not start:\n${out}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    const key = /export SOVR_KEY=(\S+)/.exec(out)![1]!;

    const client = new grpc.Client(`127.0.0.1:${base}`, grpc.credentials.createInsecure());
    const md = new grpc.Metadata();
    md.set("authorization", `Bearer ${key}`);
    const body = { model: "sim/chat-small", messages: [{ role: "user" as const, content: "soak" }] };
    const grpcCall = () =>
      new Promise<{ ok: boolean; id?: string }>((res) => {
        client.makeUnaryRequest(
          "/sovereign.v1.RouterService/Chat",
          (m: unknown) => Buffer.from(toBinary(ChatRequestSchema, m as never)),
          (b: Buffer) => fromBinary(ChatResponseSchema, b),
          create(ChatRequestSchema, body),
          md,
          (err, r) => {
            if (err) res({ ok: false, id: err.metadata?.get("x-sovr-decision-id")[0]?.toString() });
            else res({ ok: true, id: (r as { route?: { decisionId: string } }).route?.decisionId });
          },
        );
      });
    const httpCall = async () => {
      const r = await fetch(`http://127.0.0.1:${base + 1}/v1/chat/completions`, {
        method: "POST",
        headers: { "content-type": "application/json", authorization: `Bearer ${key}` },
        body: JSON.stringify(body),
      });
      await r.arrayBuffer();
      return { ok: r.ok, id: r.headers.get("x-sovr-decision-id") ?? undefined };
    };

    const rssBeforeMiB = rssMiB(server.pid!);
    const byApi = { grpc: { ok: 0, failed: 0 }, http: { ok: 0, failed: 0 } };
    const ids = new Set<string>();
    let withoutDecisionId = 0;
    const total = Math.round(o.seconds * o.rate);
    const interval = 1000 / o.rate;
    const t0 = performance.now();
    const inflight: Promise<void>[] = [];
    for (let i = 0; i < total; i++) {
      // Open loop, evenly spaced: request i leaves at t0 + i·interval whatever came back.
      const wait = t0 + i * interval - performance.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      const api = i % 2 === 0 ? "grpc" : "http";
      inflight.push(
        (api === "grpc" ? grpcCall() : httpCall()).then(({ ok, id }) => {
          byApi[api][ok ? "ok" : "failed"]++;
          if (id) ids.add(id);
          else withoutDecisionId++;
        }),
      );
      if (i > 0 && i % (o.rate * 10) === 0) log(`soak: ${i}/${total} sent, rss ${rssMiB(server.pid!)} MiB`);
    }
    await Promise.all(inflight);
    const rssAfterMiB = rssMiB(server.pid!);
    client.close();

    // Stop the server (drain + final flush), then read the log directly.
    server.kill("SIGTERM");
    await new Promise((r) => server!.once("exit", r));
    const db = await openDatabase({ databaseUrl: o.databaseUrl, dataDir: join(dir, "data") });
    const rows = await db.db.selectFrom("audit_decisions").select(["decision_id", "outcome_seq"]).execute();
    await db.close();
    const recorded = new Map(rows.map((r) => [r.decision_id, r.outcome_seq]));
    const missingDecision = [...ids].filter((id) => !recorded.has(id));
    const missingOutcome = [...ids].filter((id) => recorded.has(id) && recorded.get(id) === null);
    const seenUpstream = ["sim-eu", "sim-us", "sim-unknown"].flatMap((s) => sim.stats(s).requestIds);
    const upstreamWithoutDecision = [...new Set(seenUpstream)].filter((id) => !recorded.has(id));
    const injectedFaults = ["sim-eu", "sim-us", "sim-unknown"].reduce((n, s) => n + sim.stats(s).faults, 0);
    return {
      sent: total,
      byApi,
      withoutDecisionId,
      missingDecision,
      missingOutcome,
      upstreamWithoutDecision,
      injectedFaults,
      rssBeforeMiB,
      rssAfterMiB,
      lost:
        missingDecision.length + missingOutcome.length + upstreamWithoutDecision.length + withoutDecisionId,
    };
  } finally {
    server?.kill("SIGKILL");
    await sim.close();
    await rm(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const arg = (name: string, d: number) => {
    const i = process.argv.indexOf(`--${name}`);
    return i > 0 ? Number(process.argv[i + 1]) : d;
  };
  const result = await soak({
    seconds: arg("seconds", 60),
    rate: arg("rate", 50),
    failureRate: arg("failure-rate", 0.05),
    databaseUrl: process.env.DATABASE_URL || undefined,
  });
  const { missingDecision, missingOutcome, upstreamWithoutDecision, ...summary } = result;
  console.log(
    JSON.stringify(
      {
        ...summary,
        missingDecision: missingDecision.length,
        missingOutcome: missingOutcome.length,
        upstreamWithoutDecision: upstreamWithoutDecision.length,
      },
      null,
      2,
    ),
  );
  process.exitCode = result.lost === 0 ? 0 : 1;
}
