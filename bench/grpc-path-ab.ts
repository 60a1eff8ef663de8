/**
 * sovr's own per-call gRPC path, two checkouts side by side (issue 19): the transport
 * (api/transport/grpc-stream.ts with the app's interceptors, admission bound and connect-es
 * registration, through `rpcHandlers`) and the RouterService implementation (request
 * conversion, response messages, streaming), over a router stub that answers every call with
 * the same events (a route, `DELTAS` deltas, a finish) at once: no policy, record or upstream.
 * Each checkout's server runs in its own process (under tsx, from its own tree); the bench's
 * HTTP/2 clients load Chat, ChatStream and Health on each in turn, interleaved round by round;
 * the figure is the server process's CPU (utime + stime) per call.
 *
 *   npx tsx bench/grpc-path-ab.ts BASE_DIR [--rate 500] [--seconds 5] [--rounds 4]
 */
import { once } from "node:events";
import { mkdtemp } from "node:fs/promises";
import { createServer } from "node:http2";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import type { Call } from "./lib/clients.js";
import { H2Sessions, h2Chat, h2ChatStream, h2Health } from "./lib/grpc-h2.js";
import { runSegment } from "./lib/load.js";
import { cpuSeconds, freePort, type Managed, startProcess } from "./lib/procs.js";
import { REPO } from "./lib/systems.js";

const DELTAS = 8;

/** The child: serves the checkout `repo` on `port` until killed. */
async function serve(repo: string, port: number): Promise<void> {
  const t = await import(join(repo, "src/api/transport/connect-handler.ts"));
  const a = await import(join(repo, "src/api/transport/admission.ts"));
  const rl = await import(join(repo, "src/api/transport/rate-limit.ts"));
  const rs = await import(join(repo, "src/api/grpc/router-service.ts"));
  const gen = await import(join(repo, "src/gen/sovereign/v1/router_pb.ts"));
  const hp = await import(join(repo, "src/gen/grpc/health/v1/health_pb.ts"));
  const endpoint = { id: "sim/echo-1", provider: "sim", model: "echo-1" };
  const usage = { promptTokens: 12, completionTokens: DELTAS, costMicroUsd: 3 };
  const router = {
    async *stream() {
      yield {
        type: "route",
        decisionId: "0193a0b1-aaaa-7bbb-8ccc-0123456789ab",
        endpoint,
        attempt: 1,
        unappliedParameters: [],
      };
      yield { type: "delta", role: "assistant" };
      for (let i = 0; i < DELTAS; i++) yield { type: "delta", content: `token ${i} ` };
      yield { type: "finish", finishReason: "stop", usage };
    },
  };
  const limiter = new rl.RateLimiter({
    keyRps: 0,
    keyBurst: 0,
    maxConcurrentPerKey: 0,
    tenantRps: 0,
    tenantBurst: 0,
    maxConcurrentPerTenant: 0,
  });
  const { grpc } = t.rpcHandlers({
    auth: undefined,
    limiter,
    reportInternal: () => {},
    admission: new a.Admission({ maxInFlight: 1024 }),
    routes: (r: { service: (s: unknown, i: unknown) => void }) => {
      r.service(gen.RouterService, new rs.RouterServiceImpl(router));
      r.service(hp.Health, { check: () => ({ status: hp.HealthCheckResponse_ServingStatus.SERVING }) });
    },
  });
  const h2 = createServer();
  h2.on("stream", (stream, headers) => {
    if (!grpc(stream, headers)) stream.close();
  });
  h2.listen(port, "127.0.0.1");
  await once(h2, "listening");
}

async function main(): Promise<void> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: { rate: { type: "string" }, seconds: { type: "string" }, rounds: { type: "string" } },
  });
  const base = positionals[0];
  if (!base) throw new Error("usage: grpc-path-ab.ts BASE_DIR [--rate] [--seconds] [--rounds]");
  const rate = Number(values.rate ?? 500);
  const seconds = Number(values.seconds ?? 5);
  const rounds = Number(values.rounds ?? 4);
  const logDir = await mkdtemp(join(tmpdir(), "sovr-grpc-path-ab-"));
  const sides: { side: string; managed: Managed; calls: Record<string, Call>; sessions: H2Sessions }[] = [];
  for (const [side, repo] of [
    ["base", base],
    ["this", REPO],
  ] as const) {
    const port = await freePort();
    const managed = startProcess(
      side,
      process.execPath,
      ["--import", "tsx", import.meta.filename, "serve", repo, String(port)],
      { cwd: repo, logFile: join(logDir, `${side}.log`) },
    );
    await new Promise((r) => setTimeout(r, 4_000));
    const sessions = await H2Sessions.open(`127.0.0.1:${port}`, 4);
    const h = {};
    sides.push({
      side,
      managed,
      sessions,
      calls: { chat: h2Chat(sessions, h), stream: h2ChatStream(sessions, h), health: h2Health(sessions) },
    });
  }
  const ids = ["chat", "stream", "health"];
  for (const s of sides)
    for (const id of ids)
      await runSegment(s.calls[id]!, { rate: 200, durationMs: 2_000, drainMs: 1_000, maxInFlight: 2_000 });
  const per: Record<string, Record<string, number[]>> = {};
  for (let r = 0; r < rounds; r++)
    for (const id of r % 2 ? [...ids].reverse() : ids)
      for (const s of r % 2 ? [...sides].reverse() : sides) {
        const c0 = await cpuSeconds([s.managed.pid]);
        const res = await runSegment(s.calls[id]!, {
          rate,
          durationMs: seconds * 1000,
          drainMs: 1_000,
          maxInFlight: 2_000,
        });
        const c1 = await cpuSeconds([s.managed.pid]);
        const errors = Object.values(res.errors).reduce((x, y) => x + y, 0);
        const us = Math.round((((c1 ?? 0) - (c0 ?? 0)) / res.sent) * 1e6);
        const byId = per[id] ?? {};
        per[id] = byId;
        byId[s.side] = [...(byId[s.side] ?? []), us];
        console.log(
          `${s.side} ${id}: ${res.sent} calls, ${errors} errors ${errors ? JSON.stringify(res.errors) : ""}, ${us} µs CPU/call`,
        );
      }
  const mean = (xs: number[]) => Math.round(xs.reduce((x, y) => x + y, 0) / xs.length);
  console.log(`\nServer CPU µs per call at ${rate}/s, ${seconds} s × ${rounds} rounds (interleaved):`);
  console.log("| call | base (rounds) | mean | this (rounds) | mean |\n|---|---|---:|---|---:|");
  for (const id of ids) {
    const b = per[id]?.base ?? [];
    const t = per[id]?.this ?? [];
    console.log(`| ${id} | ${b.join(", ")} | ${mean(b)} | ${t.join(", ")} | ${mean(t)} |`);
  }
  for (const s of sides) {
    s.sessions.close();
    await s.managed.stop();
  }
}

if (process.argv[2] === "serve") await serve(process.argv[3]!, Number(process.argv[4]));
else await main();
