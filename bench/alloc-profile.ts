/**
 * Bytes a routed request allocates on sovr's request thread (issue 19), tree against tree: every
 * allocation V8's sampling heap profiler sees over a loaded window — also the objects the young
 * generation's collections free, which `--heap-prof` leaves out — divided by the requests sent.
 * Unlike CPU a request, this barely moves with the machine's state, so a change of a few per
 * cent shows in one run where CPU's rounds spread by ten (bench/findings.md, session 20).
 *
 *   npx tsx bench/alloc-profile.ts name=DIR [name=DIR …]   (an empty DIR: this tree)
 *     env: ALLOC_RATE (500), ALLOC_SECONDS (10), ALLOC_TARGETS (sovr-http,sovr-grpc), ALLOC_TOP (20)
 *
 * Each arm runs its own sovr (bench/lib/alloc-sampling-hook.mjs loaded with `--import`), warmed
 * up, then sampled over one segment per target. Prints a table, then JSON with each window's top
 * allocating functions.
 */
import { existsSync } from "node:fs";
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { type AllocSummary, readAllocationProfile, summariseAllocations } from "./lib/alloc-profile.js";
import { sovrTargets } from "./lib/build-targets.js";
import { runSegment } from "./lib/load.js";
import { REPO, startSimulator, startSovr } from "./lib/systems.js";
import { treeArms } from "./lib/tree-arms.js";

const rate = Number(process.env.ALLOC_RATE ?? 500);
const seconds = Number(process.env.ALLOC_SECONDS ?? 10);
const wanted = (process.env.ALLOC_TARGETS ?? "sovr-http,sovr-grpc").split(",");
const top = Number(process.env.ALLOC_TOP ?? 20);
const arms = treeArms(process.argv.slice(2), "alloc-profile.ts");

const hook = fileURLToPath(new URL("./lib/alloc-sampling-hook.mjs", import.meta.url));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const logDir = await mkdtemp(join(tmpdir(), "sovr-alloc-"));
const sim = await startSimulator(logDir);
const rows: { arm: string; target: string; sent: number; kb_per_request: number; summary: AllocSummary }[] =
  [];
for (const a of arms) {
  for (const id of wanted) {
    const out = join(logDir, `${a.name}-${id}.heapprofile`);
    const sovr = await startSovr(`sovr-${a.name}`, sim.url, logDir, {
      repo: a.repo,
      env: { SOVR_BENCH_ALLOC_OUT: out },
      nodeArgs: ["--import", hook],
    });
    const { targets } = await sovrTargets(sovr, "sovr", { health: false, stream: true, http: true });
    const t = targets.find((x) => x.id === id);
    if (!t) throw new Error(`no target ${id}`);
    await runSegment(t.call, { rate, durationMs: 2_000, drainMs: 2_000, maxInFlight: 2_000 });
    process.kill(sovr.managed.pid, "SIGUSR2");
    await sleep(200);
    const res = await runSegment(t.call, {
      rate,
      durationMs: seconds * 1000,
      drainMs: 3_000,
      maxInFlight: 2_000,
    });
    process.kill(sovr.managed.pid, "SIGUSR2");
    for (let i = 0; i < 300 && !existsSync(`${out}.done`); i++) await sleep(100);
    for (const x of targets) await x.close();
    await sovr.managed.stop("SIGTERM", 30_000);
    const summary = summariseAllocations(await readAllocationProfile(out), a.repo ?? REPO, top);
    const kb = Math.round(summary.total_bytes / res.sent / 100) / 10;
    rows.push({ arm: a.name, target: id, sent: res.sent, kb_per_request: kb, summary });
    console.log(`${a.name} ${id}: ${res.sent} requests, ${kb} KB allocated a request`);
  }
}
await sim.managed.stop();
console.log(`\n${rate} req/s, ${seconds} s sampled a target, KB allocated a request (request thread)`);
console.log("| tree | target | requests | KB a request |\n|---|---|---:|---:|");
for (const r of rows) console.log(`| ${r.arm} | ${r.target} | ${r.sent} | ${r.kb_per_request} |`);
console.log(JSON.stringify({ rate, seconds, rows }, null, 1));
