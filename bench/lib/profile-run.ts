import { copyFile, mkdtemp, readdir, readFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { sovrTargets } from "./build-targets.js";
import { type ProfileSummary, summariseProfile } from "./cpu-profile.js";
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
  // One .cpuprofile per thread (CPU.<date>.<time>.<pid>.<thread id>.<seq>.cpuprofile): the main
  // thread is id 0; the others are the PGlite worker and tsx's loader. Every one is summarised over
  // the load window, main thread first, with its CPU per request.
  const files = (await readdir(profDir)).filter((f) => f.endsWith(".cpuprofile"));
  const threads: ThreadProfile[] = [];
  for (const f of files) {
    const tid = Number(f.split(".").at(-3) ?? Number.NaN);
    const kept = join(o.logDir, `sovr.thread-${Number.isNaN(tid) ? f : tid}.cpuprofile`);
    await copyFile(join(profDir, f), kept);
    const summary = await summariseProfile(kept, REPO, 30, { fromUs, toUs });
    threads.push({
      thread_id: tid,
      role: roleOf(tid, await readFile(kept, "utf8")),
      cpuprofile: kept,
      busy_ms: summary.busy_ms,
      cpu_ms_per_request: requests ? Math.round((summary.busy_ms / requests) * 1000) / 1000 : null,
      summary,
    });
  }
  threads.sort((x, y) => x.thread_id - y.thread_id);
  const cpuPerRequest = cpu0 !== null && cpu1 !== null && requests ? ((cpu1 - cpu0) / requests) * 1000 : null;
  const busyAll = threads.reduce((a, t) => a + t.busy_ms, 0);
  const main = threads.find((t) => t.thread_id === 0) ?? threads[0];
  if (!main) throw new Error(`no .cpuprofile written by sovr (exit ${exit}); see ${sovr.managed.logFile}`);
  for (const t of threads)
    o.log(
      `profile: thread ${t.thread_id} (${t.role}) ${t.cpu_ms_per_request} busy ms / request — ${t.cpuprofile}`,
    );
  return {
    benchmark: "sovr-profile",
    machine: o.machine,
    command: "node --cpu-prof bin/sovr.js serve (PGlite), open-loop load from bench/run.ts --profile",
    load,
    skipped,
    requests,
    sovr_cpu_s_per_1k:
      cpu0 !== null && cpu1 !== null ? Math.round(((cpu1 - cpu0) / requests) * 1e6) / 1000 : null,
    /** The main thread's profile and summary (the fields older profile files have). */
    cpuprofile: main.cpuprofile,
    summary: main.summary,
    /** Every thread, main first: busy time under load and CPU ms per request (profiler on). */
    threads: threads.map(({ summary, ...t }) => ({
      ...t,
      /** This thread's share of all threads' sampled busy time, %. */
      share_pct: busyAll ? Math.round((t.busy_ms / busyAll) * 1000) / 10 : null,
      /**
       * That share of the process's CPU per request from /proc (the profile's busy time is sampled
       * wall time: on a loaded machine it counts time the thread waited for a core).
       */
      est_cpu_ms_per_request:
        busyAll && cpuPerRequest !== null
          ? Math.round((t.busy_ms / busyAll) * cpuPerRequest * 1000) / 1000
          : null,
      gc_pct: summary.gc_pct,
      top_modules: summary.top_modules.slice(0, 8),
      top_functions: summary.top_functions.slice(0, 12),
    })),
  };
}

interface ThreadProfile {
  thread_id: number;
  role: string;
  cpuprofile: string;
  busy_ms: number;
  cpu_ms_per_request: number | null;
  summary: ProfileSummary;
}

/** Which thread a profile is: main (id 0), the PGlite worker, tsx's loader, or another worker. */
function roleOf(tid: number, raw: string): string {
  if (tid === 0) return "main";
  if (raw.includes("@electric-sql/pglite")) return "PGlite worker";
  if (raw.includes("/tsx/dist/")) return "tsx loader";
  return "worker";
}
