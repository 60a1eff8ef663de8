/**
 * A main-thread CPU profile of sovr's gRPC and HTTP paths (issue 19): sovr under `node --cpu-prof`,
 * each target loaded open-loop in turn, then the main thread's profile (thread id 0 in the file
 * name; the PGlite worker's is larger) summarised for the loaded window only.
 *
 *   npx tsx bench/grpc-profile.ts [rate=300] [seconds=10] [targets=sovr-grpc,sovr-grpc-health,sovr-http] [rounds=1] [profile=1]
 *
 * With `profile` 0 the server runs without the profiler: the CPU per call of each target, round
 * by round (targets interleaved), is then the figure to compare between two trees.
 */
import { mkdtemp, readdir } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { sovrTargets } from "./lib/build-targets.js";
import { summariseProfile } from "./lib/cpu-profile.js";
import { runSegment } from "./lib/load.js";
import { cpuSeconds } from "./lib/procs.js";
import { REPO, startSimulator, startSovr } from "./lib/systems.js";

const rate = Number(process.argv[2] ?? 300);
const seconds = Number(process.argv[3] ?? 10);
const wanted = (process.argv[4] ?? "sovr-grpc,sovr-grpc-health,sovr-http").split(",");
const rounds = Number(process.argv[5] ?? 1);
const profile = process.argv[6] !== "0";
const logDir = await mkdtemp(join(tmpdir(), "sovr-grpc-prof-"));
const profDir = join(logDir, "prof");
const sim = await startSimulator(logDir);
const sovr = await startSovr("sovr", sim.url, logDir, {
  nodeArgs: profile ? ["--cpu-prof", `--cpu-prof-dir=${profDir}`] : [],
});
const { targets } = await sovrTargets(sovr, "sovr", { health: true, stream: true, http: true });
const chosen = targets.filter((t) => wanted.includes(t.id));
for (const t of chosen)
  await runSegment(t.call, { rate: 100, durationMs: 1_000, drainMs: 2_000, maxInFlight: 2_000 });
const fromUs = Number(process.hrtime.bigint() / 1000n);
const perCall: Record<string, number[]> = {};
for (let r = 0; r < rounds; r++) {
  for (const t of r % 2 === 0 ? chosen : [...chosen].reverse()) {
    const c0 = await cpuSeconds([sovr.managed.pid]);
    const res = await runSegment(t.call, {
      rate,
      durationMs: seconds * 1000,
      drainMs: 3_000,
      maxInFlight: 2_000,
    });
    const c1 = await cpuSeconds([sovr.managed.pid]);
    const errors = Object.values(res.errors).reduce((a, b) => a + b, 0);
    const ms = Math.round((((c1 ?? 0) - (c0 ?? 0)) / res.sent) * 1e6) / 1e3;
    perCall[t.id] = [...(perCall[t.id] ?? []), ms];
    console.log(
      `${t.id}: ${res.sent} calls, ${errors} errors ${errors ? JSON.stringify(res.errors) : ""}, ${ms} ms CPU/call${profile ? " (profiler on)" : ""}`,
    );
  }
}
console.log(JSON.stringify({ rate, seconds, rounds, cpu_ms_per_call: perCall }));
const toUs = Number(process.hrtime.bigint() / 1000n);
for (const t of targets) await t.close();
await sovr.managed.stop("SIGTERM", 30_000);
await sim.managed.stop();
if (!profile) process.exit(0);
const main = (await readdir(profDir)).find((f) => /\.\d+\.0\.\d+\.cpuprofile$/.test(f));
if (!main) throw new Error(`no main-thread profile in ${profDir}`);
const s = await summariseProfile(join(profDir, main), REPO, 40, { fromUs, toUs });
console.log(join(profDir, main));
console.log(JSON.stringify(s, null, 1));
