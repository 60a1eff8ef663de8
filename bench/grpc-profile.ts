/**
 * A main-thread CPU profile of sovr's gRPC and HTTP paths (issue 19): sovr under `node --cpu-prof`,
 * each target loaded open-loop in turn, then the main thread's profile (thread id 0 in the file
 * name; the PGlite worker's is larger) summarised for the loaded window only.
 *
 *   npx tsx bench/grpc-profile.ts [rate=300] [seconds=10] [targets=sovr-grpc,sovr-grpc-health,sovr-http]
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
const logDir = await mkdtemp(join(tmpdir(), "sovr-grpc-prof-"));
const profDir = join(logDir, "prof");
const sim = await startSimulator(logDir);
const sovr = await startSovr("sovr", sim.url, logDir, {
  nodeArgs: ["--cpu-prof", `--cpu-prof-dir=${profDir}`],
});
const { targets } = await sovrTargets(sovr, "sovr", { health: true, stream: true, http: true });
const chosen = targets.filter((t) => wanted.includes(t.id));
for (const t of chosen)
  await runSegment(t.call, { rate: 100, durationMs: 1_000, drainMs: 2_000, maxInFlight: 2_000 });
const fromUs = Number(process.hrtime.bigint() / 1000n);
for (const t of chosen) {
  const c0 = await cpuSeconds([sovr.managed.pid]);
  const r = await runSegment(t.call, {
    rate,
    durationMs: seconds * 1000,
    drainMs: 3_000,
    maxInFlight: 2_000,
  });
  const c1 = await cpuSeconds([sovr.managed.pid]);
  const errors = Object.values(r.errors).reduce((a, b) => a + b, 0);
  console.log(
    `${t.id}: ${r.sent} calls, ${errors} errors, ${(((c1 ?? 0) - (c0 ?? 0)) / r.sent) * 1e3} ms CPU/call (profiler on)`,
  );
}
const toUs = Number(process.hrtime.bigint() / 1000n);
for (const t of targets) await t.close();
await sovr.managed.stop("SIGTERM", 30_000);
await sim.managed.stop();
const main = (await readdir(profDir)).find((f) => /\.\d+\.0\.\d+\.cpuprofile$/.test(f));
if (!main) throw new Error(`no main-thread profile in ${profDir}`);
const s = await summariseProfile(join(profDir, main), REPO, 40, { fromUs, toUs });
console.log(join(profDir, main));
console.log(JSON.stringify(s, null, 1));
