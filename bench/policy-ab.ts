/**
 * Two policy bundles, A and B, side by side (issue 19): the cold evaluation at 50 candidates
 * with every shipped rule active (bench/policy-eval.ts's "all rules active", by ids, no
 * decision cache, no result memo), interleaved in rounds so both see the same machine load,
 * and a differential check: B must decide exactly as A on the mixed workload
 * (bench/lib/policy-mix.ts) and on each fixed scenario.
 *
 * Run: npx tsx bench/policy-ab.ts --a old.tar.gz --b new.tar.gz [--rounds 10] [--mix 5000]
 * (build A from an older commit: `git archive <commit> policies | tar -x -C /tmp/old`, then
 * `node bin/sovr.js policy build --source /tmp/old/policies --out old.tar.gz`).
 */
import { readFile } from "node:fs/promises";
import { readBundle } from "../src/policy/bundle.js";
import { PolicyEngine } from "../src/policy/engine.js";
import type { PolicyInput } from "../src/policy/types.js";
import { benchEndpoints, benchPolicyInput } from "./lib/policy-endpoints.js";
import { policyMix } from "./lib/policy-mix.js";

const arg = (name: string, fallback?: string): string => {
  const at = process.argv.indexOf(`--${name}`);
  const v = at > 0 ? process.argv[at + 1] : fallback;
  if (v === undefined) throw new Error(`--${name} is required`);
  return v;
};

const input = benchPolicyInput;

const pct = (s: number[], p: number) => s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)]!;
const r1 = (x: number) => Math.round(x * 10) / 10;

const engines: Record<"a" | "b", PolicyEngine> = {
  a: new PolicyEngine({ poolSize: 1, decisionCacheSize: 0, resultMemoSize: 0 }),
  b: new PolicyEngine({ poolSize: 1, decisionCacheSize: 0, resultMemoSize: 0 }),
};
const catalog = benchEndpoints(200);
for (const k of ["a", "b"] as const) {
  await engines[k].load(await readBundle(await readFile(arg(k))));
  engines[k].setCatalog(catalog);
}
const decide = (k: "a" | "b", i: PolicyInput) =>
  engines[k].evaluate(i).then(
    (r) => JSON.stringify(r.decision),
    (e: Error) => `error: ${e.message}`,
  );

// Differential: the mix, each input by both; then the fixed scenarios.
const mixSize = Number(arg("mix", "5000"));
let compared = 0;
const fixed = [
  input(catalog.slice(0, 50), "acme-health", { zdr: true, data_collection: "deny" }, "eu"),
  input(catalog.slice(0, 50), "default", { zdr: true }, null),
  input(catalog.slice(0, 50), "default", {}, null),
  input(catalog.slice(0, 200), "bund-gov", { local_only: true }, "us"),
];
for (const [n, i] of [...fixed, ...policyMix(catalog, mixSize, 11)].entries()) {
  const [a, b] = [await decide("a", i), await decide("b", i)];
  if (a !== b)
    throw new Error(`B decides otherwise on input ${n}:\n${JSON.stringify(i.request)}\nA ${a}\nB ${b}`);
  compared++;
}

// Timing: rounds of 1,000 evaluations each, alternating which goes first.
const req = fixed[0]!;
const rounds = Number(arg("rounds", "10"));
const out: Record<"a" | "b", { us: number[]; cpu: number; n: number; rounds: number[] }> = {
  a: { us: [], cpu: 0, n: 0, rounds: [] },
  b: { us: [], cpu: 0, n: 0, rounds: [] },
};
for (let w = 0; w < 500; w++) for (const k of ["a", "b"] as const) await engines[k].evaluate(req);
for (let r = 0; r < rounds; r++) {
  for (const k of r % 2 === 0 ? (["a", "b"] as const) : (["b", "a"] as const)) {
    const cpu = process.cpuUsage();
    for (let j = 0; j < 1000; j++) {
      const t0 = performance.now();
      await engines[k].evaluate(req);
      out[k].us.push((performance.now() - t0) * 1000);
    }
    const used = process.cpuUsage(cpu);
    out[k].cpu += used.user + used.system;
    out[k].rounds.push((used.user + used.system) / 1000);
    out[k].n += 1000;
  }
}
const report = (k: "a" | "b") => {
  const s = [...out[k].us].sort((x, y) => x - y);
  const rounds = [...out[k].rounds].sort((x, y) => x - y);
  // CPU µs per evaluation: over all rounds, and the least and median round (the least is the
  // figure least disturbed by other load on a busy machine).
  return {
    p50_us: r1(pct(s, 50)),
    p99_us: r1(pct(s, 99)),
    cpu_us_mean: r1(out[k].cpu / out[k].n),
    cpu_us_round_min: r1(rounds[0]!),
    cpu_us_round_median: r1(pct(rounds, 50)),
  };
};
console.log(JSON.stringify({ compared_identical: compared, a: report("a"), b: report("b") }, null, 2));
