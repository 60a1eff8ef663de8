/**
 * Several built sovr trees side by side (issue 19): the same targets against a sovr from each
 * tree, interleaved round by round (the order reversed every other round), one loaded at a time.
 * Per tree and target: CPU per request of the whole process and of its threads (the request
 * thread, the busiest other thread — on PGlite the database's — and the rest: V8's helpers,
 * libuv), the latency p50 / p99 of each round, and the other load on the machine meanwhile
 * (cores busy beyond sovr, the simulator and this load generator: other people's work). An arm
 * is a checkout (`git worktree add`, the tree's `node_modules` linked, `npm run build`) with one
 * change: a before/after, or an ablation (a part of the request path cut out in a scratch tree,
 * to see what it costs end to end).
 *
 *   npx tsx bench/trees-ab.ts name=DIR [name=DIR …]   (an empty DIR: this tree)
 *     env: TREES_RATE (500), TREES_SECONDS (6), TREES_ROUNDS (3),
 *          TREES_TARGETS (sovr-http,sovr-grpc), TREES_ENV (JSON: the environment of every sovr),
 *          TREES_NODE_ARGS (JSON: an arm's name → its node flags, after the shipped ones; the
 *          same tree twice with different flags is an arm each), TREES_ARM_ENV (JSON: an arm's
 *          name → its own environment, over TREES_ENV)
 */
import { mkdtemp, readdir, readFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { sovrTargets } from "./lib/build-targets.js";
import { percentilesMs, runSegment } from "./lib/load.js";
import { cpuSeconds, machineBusySeconds, processTree } from "./lib/procs.js";
import { startSimulator, startSovr } from "./lib/systems.js";
import { treeArms } from "./lib/tree-arms.js";

const rate = Number(process.env.TREES_RATE ?? 500);
const seconds = Number(process.env.TREES_SECONDS ?? 6);
const rounds = Number(process.env.TREES_ROUNDS ?? 3);
const wanted = (process.env.TREES_TARGETS ?? "sovr-http,sovr-grpc").split(",");
const env = process.env.TREES_ENV ? (JSON.parse(process.env.TREES_ENV) as Record<string, string>) : undefined;
const armEnv = (process.env.TREES_ARM_ENV ? JSON.parse(process.env.TREES_ARM_ENV) : {}) as Record<
  string,
  Record<string, string>
>;
const nodeArgs = (process.env.TREES_NODE_ARGS ? JSON.parse(process.env.TREES_NODE_ARGS) : {}) as Record<
  string,
  string[]
>;
const arms = treeArms(process.argv.slice(2), "trees-ab.ts");

/** CPU seconds of each thread of `pid`, by thread id (utime + stime, /proc/<pid>/task). */
async function threadSeconds(pid: number): Promise<Map<number, number>> {
  const out = new Map<number, number>();
  for (const tid of await readdir(`/proc/${pid}/task`).catch(() => [])) {
    const stat = await readFile(`/proc/${pid}/task/${tid}/stat`, "utf8").catch(() => "");
    const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    if (f.length > 12) out.set(Number(tid), (Number(f[11]) + Number(f[12])) / 100);
  }
  return out;
}

const logDir = await mkdtemp(join(tmpdir(), "sovr-trees-ab-"));
const sim = await startSimulator(logDir);
const sides = [];
for (const a of arms) {
  const sovr = await startSovr(`sovr-${a.name}`, sim.url, logDir, {
    repo: a.repo,
    env: { ...env, ...armEnv[a.name] },
    nodeArgs: nodeArgs[a.name],
  });
  const { targets } = await sovrTargets(sovr, "sovr", { health: false, stream: true, http: true });
  sides.push({ ...a, sovr, targets: targets.filter((t) => wanted.includes(t.id)) });
}
for (const s of sides)
  for (const t of s.targets)
    await runSegment(t.call, { rate, durationMs: 2_000, drainMs: 2_000, maxInFlight: 2_000 });

interface Round {
  cpu: number;
  request: number;
  database: number;
  rest: number;
  p50: number;
  p99: number;
  errors: number;
  other: number;
}
const simPids = await processTree(sim.managed.pid);
const results = new Map<string, Round[]>();
for (let r = 0; r < rounds; r++) {
  for (const id of wanted) {
    for (const s of r % 2 === 0 ? sides : [...sides].reverse()) {
      const t = s.targets.find((x) => x.id === id);
      if (!t) continue;
      const pid = s.sovr.managed.pid;
      const before = await threadSeconds(pid);
      const sim0 = await cpuSeconds(simPids);
      const all0 = await machineBusySeconds();
      const res = await runSegment(t.call, {
        rate,
        durationMs: seconds * 1000,
        drainMs: 3_000,
        maxInFlight: 2_000,
      });
      const after = await threadSeconds(pid);
      const sim1 = await cpuSeconds(simPids);
      const all1 = await machineBusySeconds();
      const perRequest = (sec: number) => (sec * 1000) / res.sent;
      const deltas = [...after].map(([tid, sec]) => ({ tid, d: sec - (before.get(tid) ?? 0) }));
      const request = deltas.find((x) => x.tid === pid)?.d ?? 0;
      const others = deltas.filter((x) => x.tid !== pid).sort((a, b) => b.d - a.d);
      const database = others[0]?.d ?? 0;
      const total = deltas.reduce((a, x) => a + x.d, 0);
      const p = percentilesMs(res.latency);
      const row: Round = {
        cpu: perRequest(total),
        request: perRequest(request),
        database: perRequest(database),
        rest: perRequest(total - request - database),
        p50: p.p50,
        p99: p.p99,
        errors: res.sent - res.ok,
        other:
          all0 === null || all1 === null || sim0 === null || sim1 === null
            ? Number.NaN
            : Math.max(0, all1 - all0 - total - (sim1 - sim0) - res.clientCpuMs / 1000) / (res.wallMs / 1000),
      };
      const key = `${s.name} ${id}`;
      results.set(key, [...(results.get(key) ?? []), row]);
      console.error(`round ${r + 1} ${key}: ${JSON.stringify(row)}`);
    }
  }
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};
const f = (x: number, d = 3) => x.toFixed(d);
console.log(
  `${rate} req/s, ${seconds} s a segment, ${rounds} rounds, medians (CPU ms per request)\n` +
    "| tree | target | CPU (rounds) | CPU | request thread | database thread | rest | p50 ms | p99 ms | errors | other load (cores) |\n" +
    "|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|",
);
for (const [key, rows] of results) {
  const [tree, target] = key.split(" ");
  const m = (k: keyof Round) => median(rows.map((x) => x[k]));
  console.log(
    `| ${tree} | ${target} | ${rows.map((x) => f(x.cpu)).join(", ")} | ${f(m("cpu"))} | ${f(m("request"))} | ${f(m("database"))} | ${f(m("rest"))} | ${f(m("p50"), 2)} | ${f(m("p99"), 2)} | ${rows.reduce((a, x) => a + x.errors, 0)} | ${f(m("other"), 2)} |`,
  );
}
for (const s of sides) {
  for (const t of s.targets) await t.close();
  await s.sovr.managed.stop("SIGTERM", 30_000);
}
await sim.managed.stop();
process.exit(0);
