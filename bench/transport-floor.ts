/**
 * The transport floors on this machine (issue 19): what one call costs the server's CPU with
 * nothing behind it, per protocol stack. Four servers, each in its own process, each answering
 * one trivial call:
 *
 * - `http1-echo`: node:http, POST → a fixed OpenAI-shaped JSON body (the HTTP API's floor);
 * - `h2-raw-echo`: node:http2's `stream` API, a gRPC call → a fixed framed Health response and
 *   `grpc-status: 0` trailers (the gRPC floor: HTTP/2 and gRPC framing, nothing else);
 * - `connect-compat`: connect-es's Node adapter on the HTTP/2 compatibility layer serving
 *   grpc.health.v1.Health/Check (how sovr served gRPC before src/api/transport/grpc-stream.ts);
 * - `grpc-stream`: the same Health/Check through sovr's grpc-stream.ts on the `stream` API.
 *
 * Each is loaded open-loop at the same rate by the bench's own clients (undici for HTTP/1.1,
 * bench/lib/grpc-h2.ts for gRPC), servers interleaved over the rounds; the figure is the
 * server process's CPU (utime + stime from /proc) per call. Every server runs under tsx's
 * loader, as sovr does (bin/sovr.js).
 *
 *   npx tsx bench/transport-floor.ts [--rate 500] [--seconds 6] [--rounds 2]
 */
import { once } from "node:events";
import { mkdtemp } from "node:fs/promises";
import { createServer as createH1 } from "node:http";
import { createServer as createH2 } from "node:http2";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { create, toBinary } from "@bufbuild/protobuf";
import { createContextValues } from "@connectrpc/connect";
import { compressionBrotli, compressionGzip, connectNodeAdapter } from "@connectrpc/connect-node";
import { GrpcMethods, grpcStreamHandler } from "../src/api/transport/grpc-stream.js";
import {
  Health,
  HealthCheckResponse_ServingStatus,
  HealthCheckResponseSchema,
} from "../src/gen/grpc/health/v1/health_pb.js";
import { type Call, httpPool, httpUnary } from "./lib/clients.js";
import { H2Sessions, h2Health } from "./lib/grpc-h2.js";
import { runSegment } from "./lib/load.js";
import { cpuSeconds, freePort, type Managed, startProcess, waitFor } from "./lib/procs.js";

const SERVERS = ["http1-echo", "h2-raw-echo", "connect-compat", "grpc-stream"] as const;
type Kind = (typeof SERVERS)[number];

const health = { check: () => ({ status: HealthCheckResponse_ServingStatus.SERVING }) };

/** The child: serves `kind` on `port` until killed. */
async function serve(kind: Kind, port: number): Promise<void> {
  if (kind === "http1-echo") {
    const body = JSON.stringify({ choices: [{ message: { role: "assistant", content: "ok" } }] });
    const s = createH1({ keepAlive: true }, (req, res) => {
      req.resume();
      req.on("end", () => {
        res.writeHead(200, { "content-type": "application/json", "content-length": Buffer.byteLength(body) });
        res.end(body);
      });
    });
    s.keepAliveTimeout = 65_000;
    s.listen(port, "127.0.0.1");
    return;
  }
  const msg = toBinary(HealthCheckResponseSchema, create(HealthCheckResponseSchema, health.check()));
  const framed = Buffer.alloc(5 + msg.length);
  framed.writeUInt32BE(msg.length, 1);
  framed.set(msg, 5);
  const h2 = createH2();
  if (kind === "h2-raw-echo") {
    h2.on("stream", (stream) => {
      stream.resume();
      stream.on("end", () => {
        stream.respond(
          { ":status": 200, "content-type": "application/grpc+proto" },
          { waitForTrailers: true },
        );
        stream.once("wantTrailers", () => stream.sendTrailers({ "grpc-status": "0" }));
        stream.end(framed);
      });
    });
  } else if (kind === "connect-compat") {
    h2.on("request", connectNodeAdapter({ routes: (r) => r.service(Health, health) }));
  } else {
    const methods = new GrpcMethods();
    methods.add(Health, health);
    const handler = grpcStreamHandler(methods, {
      interceptors: [],
      readMaxBytes: 8 << 20,
      acceptCompression: [compressionGzip, compressionBrotli],
      gate: { admit: async () => createContextValues() },
    });
    h2.on("stream", (stream, headers) => {
      if (!handler(stream, headers)) stream.close();
    });
  }
  h2.listen(port, "127.0.0.1");
  await once(h2, "listening");
}

async function main(): Promise<void> {
  const a = parseArgs({
    options: { rate: { type: "string" }, seconds: { type: "string" }, rounds: { type: "string" } },
  }).values;
  const rate = Number(a.rate ?? 500);
  const seconds = Number(a.seconds ?? 6);
  const rounds = Number(a.rounds ?? 2);
  const logDir = await mkdtemp(join(tmpdir(), "sovr-transport-floor-"));
  const started: { kind: Kind; managed: Managed; call: Call; close: () => Promise<void> }[] = [];
  for (const kind of SERVERS) {
    const port = await freePort();
    const managed = startProcess(
      kind,
      process.execPath,
      ["--import", "tsx", import.meta.filename, "serve", kind, String(port)],
      {
        logFile: join(logDir, `${kind}.log`),
      },
    );
    if (kind === "http1-echo") {
      const pool = httpPool(`http://127.0.0.1:${port}`);
      await waitFor(
        kind,
        async () => (await fetch(`http://127.0.0.1:${port}/`, { method: "POST" })).ok,
        30_000,
        managed,
      );
      started.push({
        kind,
        managed,
        call: httpUnary(pool, "/v1/chat/completions", {}),
        close: () => pool.close(),
      });
    } else {
      let sessions: H2Sessions | undefined;
      await waitFor(
        kind,
        async () => {
          sessions = await H2Sessions.open(`127.0.0.1:${port}`, 4);
          return true;
        },
        30_000,
        managed,
      );
      const s = sessions!;
      started.push({ kind, managed, call: h2Health(s), close: () => s.close() });
    }
  }
  // Warm-up: JIT and connections, not measured.
  for (const t of started)
    await runSegment(t.call, { rate: 200, durationMs: 1_500, drainMs: 2_000, maxInFlight: 2_000 });
  const per: Record<string, number[]> = {};
  // Latency p50 / p99 of each round (µs, client-measured): what the stack adds with no work behind it.
  const lat: Record<string, string[]> = {};
  for (let r = 0; r < rounds; r++) {
    for (const t of r % 2 === 0 ? started : [...started].reverse()) {
      const c0 = await cpuSeconds([t.managed.pid]);
      const res = await runSegment(t.call, {
        rate,
        durationMs: seconds * 1000,
        drainMs: 3_000,
        maxInFlight: 2_000,
      });
      const c1 = await cpuSeconds([t.managed.pid]);
      const errors = Object.values(res.errors).reduce((x, y) => x + y, 0);
      if (errors > 0) console.error(`${t.kind}: ${errors} errors`, res.errorSamples);
      const us = (((c1 ?? 0) - (c0 ?? 0)) / Math.max(1, res.ok)) * 1e6;
      per[t.kind] = [...(per[t.kind] ?? []), Math.round(us)];
      const p = (q: number) => Math.round(res.latency.getValueAtPercentile(q));
      lat[t.kind] = [...(lat[t.kind] ?? []), `${p(50)} / ${p(99)}`];
    }
  }
  for (const t of started) {
    await t.close();
    await t.managed.stop();
  }
  console.log(`server CPU µs per call at ${rate} calls/s, ${seconds} s × ${rounds} rounds (interleaved):`);
  console.log("| server | µs/call (each round) | mean | latency p50 / p99 µs (each round) |");
  console.log("|---|---|---|---|");
  for (const kind of SERVERS) {
    const v = per[kind] ?? [];
    const mean = Math.round(v.reduce((x, y) => x + y, 0) / Math.max(1, v.length));
    console.log(`| ${kind} | ${v.join(", ")} | ${mean} | ${(lat[kind] ?? []).join("; ")} |`);
  }
}

if (process.argv[2] === "serve") await serve(process.argv[3] as Kind, Number(process.argv[4]));
else await main();
