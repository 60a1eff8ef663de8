/**
 * Server CPU per call of two checkouts side by side (issue 19): the same targets (gRPC Chat,
 * ChatStream, Health, HTTP chat) against a sovr from `base` (another checkout, built) and one
 * from this tree, interleaved round by round (A, B, B, A, …), each process's CPU (utime + stime
 * from /proc) over its own segment. Both servers run throughout; only one is loaded at a time.
 *
 *   npx tsx bench/grpc-ab.ts BASE_DIR [rate=300] [seconds=8] [targets=sovr-grpc,sovr-grpc-stream,sovr-grpc-health,sovr-http] [rounds=3]
 */
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { sovrTargets } from "./lib/build-targets.js";
import { runSegment } from "./lib/load.js";
import { cpuSeconds } from "./lib/procs.js";
import { startSimulator, startSovr } from "./lib/systems.js";

const base = process.argv[2];
if (!base) throw new Error("usage: grpc-ab.ts BASE_DIR [rate] [seconds] [targets] [rounds]");
const rate = Number(process.argv[3] ?? 300);
const seconds = Number(process.argv[4] ?? 8);
const wanted = (process.argv[5] ?? "sovr-grpc,sovr-grpc-stream,sovr-grpc-health,sovr-http").split(",");
const rounds = Number(process.argv[6] ?? 3);
const logDir = await mkdtemp(join(tmpdir(), "sovr-grpc-ab-"));
const sim = await startSimulator(logDir);
const sides = [];
for (const [side, repo] of [
  ["base", base],
  ["this", undefined],
] as const) {
  const sovr = await startSovr(`sovr-${side}`, sim.url, logDir, { repo });
  const { targets } = await sovrTargets(sovr, "sovr", { health: true, stream: true, http: true });
  sides.push({ side, sovr, targets: targets.filter((t) => wanted.includes(t.id)) });
}
for (const s of sides)
  for (const t of s.targets)
    await runSegment(t.call, { rate: 100, durationMs: 1_000, drainMs: 2_000, maxInFlight: 2_000 });
const perCall: Record<string, Record<string, number[]>> = { base: {}, this: {} };
for (let r = 0; r < rounds; r++) {
  for (const id of r % 2 === 0 ? wanted : [...wanted].reverse()) {
    for (const s of r % 2 === 0 ? sides : [...sides].reverse()) {
      const t = s.targets.find((x) => x.id === id);
      if (!t) continue;
      const c0 = await cpuSeconds([s.sovr.managed.pid]);
      const res = await runSegment(t.call, {
        rate,
        durationMs: seconds * 1000,
        drainMs: 3_000,
        maxInFlight: 2_000,
      });
      const c1 = await cpuSeconds([s.sovr.managed.pid]);
      const errors = Object.values(res.errors).reduce((a, b) => a + b, 0);
      const ms = Math.round((((c1 ?? 0) - (c0 ?? 0)) / res.sent) * 1e6) / 1e3;
      const bySide = perCall[s.side]!;
      bySide[id] = [...(bySide[id] ?? []), ms];
      console.log(`${s.side} ${id}: ${res.sent} calls, ${errors} errors, ${ms} ms CPU/call`);
    }
  }
}
const mean = (xs: number[]) => Math.round((xs.reduce((a, b) => a + b, 0) / xs.length) * 1e3) / 1e3;
console.log(
  "| target | base ms/call (rounds) | mean | this ms/call (rounds) | mean |\n|---|---|---:|---|---:|",
);
for (const id of wanted) {
  const a = perCall.base![id] ?? [];
  const b = perCall.this![id] ?? [];
  console.log(`| ${id} | ${a.join(", ")} | ${mean(a)} | ${b.join(", ")} | ${mean(b)} |`);
}
console.log(JSON.stringify({ rate, seconds, rounds, cpu_ms_per_call: perCall }));
for (const s of sides) {
  for (const t of s.targets) await t.close();
  await s.sovr.managed.stop("SIGTERM", 30_000);
}
await sim.managed.stop();
process.exit(0);
