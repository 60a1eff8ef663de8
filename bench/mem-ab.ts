// Memory A/B: resident memory and CPU per request of `sovr serve` under load, arms interleaved.
//   npx tsx bench/mem-ab.ts '<arm json>' ...   arm = {"name","env":{},"nodeArgs":[],"pg":bool,"repo":path}
// ("repo": another checkout, built, whose sovr the arm runs: a before/after of a change.)
// Each arm: start sovr, warm up, 500 req/s for SECONDS on gRPC, gRPC stream, HTTP, HTTP stream,
// sampling the process tree's VmRSS every 100 ms; report idle RSS, max RSS, CPU ms/request.

import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { sovrTargets } from "./lib/build-targets.js";
import { runSegment } from "./lib/load.js";
import { cpuSeconds, memoryMiB, processTree } from "./lib/procs.js";
import { scratchDatabase } from "./lib/scratch-db.js";
import { rssByKind } from "./lib/smaps.js";
import { startSimulator, startSovr } from "./lib/systems.js";

const RATE = Number(process.env.MEMAB_RATE ?? 500);
const SECONDS = Number(process.env.MEMAB_SECONDS ?? 6);
const arms = process.argv.slice(2).map(
  (s) =>
    JSON.parse(s) as {
      name: string;
      env?: Record<string, string>;
      nodeArgs?: string[];
      pg?: boolean;
      repo?: string;
    },
);
function databaseUrl(): string {
  const url = process.env.SOVR_BENCH_DATABASE_URL ?? process.env.DATABASE_URL;
  if (!url) throw new Error('an arm with "pg": true needs DATABASE_URL');
  return url;
}
const logDir = await mkdtemp(join(tmpdir(), "mem-ab-"));
const sim = await startSimulator(logDir);
for (const arm of arms) {
  const db = arm.pg ? await scratchDatabase(databaseUrl(), "memab") : undefined;
  const sovr = await startSovr("sovr", sim.url, logDir, {
    databaseUrl: db?.url,
    env: arm.env,
    nodeArgs: arm.nodeArgs,
    repo: arm.repo,
  });
  const { targets } = await sovrTargets(sovr, "sovr", { health: false, stream: true, http: true });
  await new Promise((r) => setTimeout(r, 1000));
  const pids = await processTree(sovr.managed.pid);
  const idle = await memoryMiB(pids, "VmRSS");
  const idleKinds = await rssByKind(pids);
  for (const t of targets)
    await runSegment(t.call, { rate: 100, durationMs: 1000, drainMs: 2000, maxInFlight: 2000 });
  let max = 0;
  const timer = setInterval(async () => {
    const v = await memoryMiB(pids, "VmRSS");
    if (v !== null) max = Math.max(max, v);
  }, 100);
  const cpu0 = (await cpuSeconds(pids)) ?? 0;
  let sent = 0;
  let errors = 0;
  const kinds: Record<string, number> = {};
  for (const t of targets) {
    const r = await runSegment(t.call, {
      rate: RATE,
      durationMs: SECONDS * 1000,
      drainMs: 3000,
      maxInFlight: 2000,
    });
    sent += r.sent;
    errors += Object.values(r.errors).reduce((a, b) => a + b, 0);
    for (const [k, v] of Object.entries(r.errors)) kinds[k] = (kinds[k] ?? 0) + v;
  }
  const cpu1 = (await cpuSeconds(pids)) ?? 0;
  clearInterval(timer);
  const after = await memoryMiB(pids, "VmRSS");
  const afterKinds = await rssByKind(pids);
  const row = {
    arm: arm.name,
    idle_mib: idle,
    rss_max_mib: max,
    after_mib: after,
    cpu_ms_per_req: Math.round(((cpu1 - cpu0) / sent) * 1e6) / 1000,
    sent,
    errors,
    kinds,
    idle_by_kind: idleKinds,
    after_by_kind: afterKinds,
  };
  console.log(JSON.stringify(row));
  await sovr.managed.stop("SIGKILL", 5_000);
  await Promise.race([Promise.all(targets.map((t) => t.close())), new Promise((r) => setTimeout(r, 2000))]);
  await db?.drop?.();
}
await sim.managed.stop();
process.exit(0);
