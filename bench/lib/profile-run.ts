import { copyFile, mkdtemp, readdir, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { sovrTargets } from "./build-targets.js";
import { summariseProfile } from "./cpu-profile.js";
import { percentilesMs, runSegment } from "./load.js";
import type { MachineInfo } from "./machine.js";
import { sleep } from "./matrix.js";
import { cpuSeconds } from "./procs.js";
import { REPO, startSimulator, startSovr } from "./systems.js";

/**
 * sovr under `node --cpu-prof`, loaded open-loop at a rate it sustains (default 100 req/s, so the
 * profile shows the work per request rather than overload handling) with Chat, ChatStream and (when
 * it answers) the OpenAI-compatible route; then SIGTERM (the profile is written at exit) and a
 * summary of self time. Latencies here include the profiler's own cost: not for comparison.
 */
export async function runProfile(o: {
  quick: boolean;
  logDir: string;
  log: (l: string) => void;
  machine: MachineInfo;
  rate: number;
}) {
  const profDir = await mkdtemp(join(tmpdir(), "sovr-bench-prof-"));
  const sim = await startSimulator(o.logDir);
  const sovr = await startSovr("sovr", sim.url, o.logDir, {
    nodeArgs: ["--cpu-prof", `--cpu-prof-dir=${profDir}`],
  });
  const { targets, skipped } = await sovrTargets(sovr, "sovr", { health: false, stream: true, http: true });
  const rate = o.rate;
  const seconds: Record<string, number> = o.quick
    ? { "sovr-grpc": 8, "sovr-grpc-stream": 4, "sovr-http": 4, "sovr-http-stream": 2 }
    : { "sovr-grpc": 30, "sovr-grpc-stream": 12, "sovr-http": 12, "sovr-http-stream": 6 };
  for (const t of targets)
    await runSegment(t.call, { rate: 100, durationMs: 1_500, drainMs: 2_000, maxInFlight: 2_000 });
  const load = [];
  const cpu0 = await cpuSeconds([sovr.managed.pid]);
  const fromUs = Number(process.hrtime.bigint() / 1000n);
  let requests = 0;
  for (const t of targets) {
    const r = await runSegment(t.call, {
      rate,
      durationMs: (seconds[t.id] ?? 4) * 1000,
      drainMs: 3_000,
      maxInFlight: 2_000,
    });
    requests += r.sent;
    const errors = Object.values(r.errors).reduce((x, y) => x + y, 0);
    load.push({ target: t.id, rate, sent: r.sent, errors, latency_ms: percentilesMs(r.latency) });
    o.log(
      `  profile ${t.id} ${rate} req/s p50 ${percentilesMs(r.latency).p50} p99 ${percentilesMs(r.latency).p99} errors ${errors}`,
    );
    await sleep(200);
  }
  const cpu1 = await cpuSeconds([sovr.managed.pid]);
  const toUs = Number(process.hrtime.bigint() / 1000n);
  for (const t of targets) await t.close();
  const exit = await sovr.managed.stop("SIGTERM", 30_000);
  await sim.managed.stop();
  const files = await readdir(profDir);
  const sized = await Promise.all(
    files
      .filter((f) => f.endsWith(".cpuprofile"))
      .map(async (f) => ({ f, size: (await stat(join(profDir, f))).size })),
  );
  const main = sized.sort((x, y) => y.size - x.size)[0];
  if (!main) throw new Error(`no .cpuprofile written by sovr (exit ${exit}); see ${sovr.managed.logFile}`);
  const kept = join(o.logDir, "sovr.cpuprofile");
  await copyFile(join(profDir, main.f), kept);
  o.log(`profile: ${kept}`);
  return {
    benchmark: "sovr-profile",
    machine: o.machine,
    command: "node --cpu-prof bin/sovr.js serve (PGlite), open-loop load from bench/run.ts --profile",
    load,
    skipped,
    requests,
    sovr_cpu_s_per_1k:
      cpu0 !== null && cpu1 !== null ? Math.round(((cpu1 - cpu0) / requests) * 1e6) / 1000 : null,
    cpuprofile: kept,
    summary: await summariseProfile(kept, REPO, 30, { fromUs, toUs }),
  };
}
