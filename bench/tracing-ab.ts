/**
 * Tracing's CPU per request, A/B in one process (docs/operations.md, "Cost"): the app with the
 * in-process simulator, 400 non-streaming OpenAI chat requests at concurrency 4 per arm, arms
 * alternated (off, on, off, on) so drifting load on a shared machine hits both; CPU is this
 * process's user+system time (sovr and the simulator: the same for both arms, so the difference
 * is tracing's). Spans go to a discarding OTLP receiver in the same process.
 *   npx tsx bench/tracing-ab.ts
 */
import { mkdtemp, rm } from "node:fs/promises";
import { createServer } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startApp } from "../src/app/index.js";
import { loadConfig } from "../src/config/index.js";
import { createLogger } from "../src/telemetry/index.js";

const N = 400;
const CONCURRENCY = 4;
const sink = createServer((req, res) => {
  req.resume();
  req.on("end", () => res.writeHead(200, { "content-type": "application/x-protobuf" }).end());
});
await new Promise<void>((r) => sink.listen(0, "127.0.0.1", () => r()));
const sinkUrl = `http://127.0.0.1:${(sink.address() as { port: number }).port}/v1/traces`;

async function arm(tracing: boolean): Promise<{ cpuUsPerReq: number; wallMsPerReq: number }> {
  const dataDir = await mkdtemp(join(tmpdir(), "sovr-tracing-ab-"));
  const config = loadConfig({
    SOVR_GRPC_PORT: "0",
    SOVR_HTTP_PORT: "0",
    SOVR_DATA_DIR: dataDir,
    SOVR_AUTH: "off",
    SOVR_SIMULATOR: "on",
    SOVR_SIMULATOR_PORT: "0",
    SOVR_SIMULATOR_TTFT_MS: "0",
    SOVR_CATALOG_WATCH: "off",
    SOVR_LOCAL_PROBE_MS: "0",
    ...(tracing ? { OTEL_TRACES_EXPORTER: "otlp", OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: sinkUrl } : {}),
  });
  // Access lines are written (info) to a discarding stream in both arms.
  const { Writable } = await import("node:stream");
  const devNull = new Writable({ write: (_c, _e, cb) => cb() });
  const app = await startApp(config, { logger: createLogger("info", devNull) });
  const body = JSON.stringify({
    model: "sim/chat-small",
    messages: [{ role: "user", content: "hello there" }],
  });
  const send = async () => {
    const res = await fetch(`${app.httpUrl}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body,
    });
    await res.text();
    if (res.status !== 200) throw new Error(`status ${res.status}`);
  };
  for (let i = 0; i < 40; i++) await send(); // warm-up
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next++ < N) await send();
    }),
  );
  const cpu = process.cpuUsage(cpu0);
  const wall = performance.now() - t0;
  await app.stop();
  await rm(dataDir, { recursive: true, force: true });
  return { cpuUsPerReq: (cpu.user + cpu.system) / N, wallMsPerReq: wall / N };
}

const rows: { tracing: string; cpuUsPerReq: number; wallMsPerReq: number }[] = [];
for (const tracing of process.argv[2] === "on-first"
  ? [true, false, true, false]
  : [false, true, false, true]) {
  const r = await arm(tracing);
  rows.push({ tracing: tracing ? "on" : "off", ...r });
  console.log(JSON.stringify(rows.at(-1)));
}
sink.close();
