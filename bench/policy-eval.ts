/**
 * Policy evaluation time per request (docs/architecture.md §9): the committed bundle
 * (policies/dist/bundle.tar.gz) in opa-wasm through PolicyEngine, for 10, 50 and 200
 * candidate endpoints, with every shipped rule active (zdr + data_collection deny +
 * region eu + a tenant with EU/ZDR/no-training rules), with only request-level zdr, and
 * with none active.
 *
 * `input: "endpoint_ids"` is what the router pays: the catalog's endpoints are loaded into
 * the engine's instances once (PolicyEngine.setCatalog) and a request carries only the
 * candidates' ids. `input: "inline"` passes the endpoints in the input, as replays of a
 * stored catalog revision and requests in flight across a catalog swap do.
 *
 * These runs repeat one input, so they are made with the decision cache off (every
 * evaluation runs the Wasm): the cold cost. The engine's result memo (src/policy/result-memo.ts:
 * a result text seen before is not parsed again) would answer every repeat after the first, so
 * each run is made with it off (`result_memo: "off"`, the cold cost of a result never seen)
 * and the first scenario again with it on (`"on"`, a result seen before, as 4 in 5 are in the
 * mix). `cpu_us_mean` is the process's CPU time over the measured loop per evaluation
 * (figures that hold on a busy machine, where wall-time percentiles do not). `mix` then measures the cache on a mixed workload
 * (bench/lib/policy-mix.ts: several tenants, keys and tokens, models, regions, preferences,
 * content labels, a new time per request) against the same workload with the cache off,
 * chunk by chunk interleaved, and reports the hit rate.
 *
 * One more fixed run, at 50 candidates: the first scenario with the bundle built again from
 * the same sources with 100 more tenants in data.json, each with its own allowed headquarters
 * (`"all rules active, 100 more tenants"`): what an evaluation pays per tenant of the bundle
 * (lib.attribute_keys, bench/findings.md session 22). Skipped when opa is not installed.
 *
 * Run: npx tsx bench/policy-eval.ts [--no-fixed] [--mix N]  (about 40 s; prints JSON)
 *
 * `wasm_us` is the engine's evalMicros (input serialisation, Wasm evaluation, result
 * decoding); `total_us` adds pool acquisition and decision parsing/validation, i.e. what
 * a request pays.
 */
import { cp, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { cpus, tmpdir } from "node:os";
import { join } from "node:path";
import { readBundle } from "../src/policy/bundle.js";
import { buildPolicyBundle } from "../src/policy/bundle-build.js";
import { ByIdsInput } from "../src/policy/decision-cache.js";
import type { PolicyEvaluation } from "../src/policy/engine.js";
import { PolicyEngine } from "../src/policy/engine.js";
import { repoRoot } from "../src/policy/opa-bin.js";
import type { PolicyEndpointInput, PolicyInput } from "../src/policy/types.js";
import { benchEndpoints, benchPolicyInput } from "./lib/policy-endpoints.js";
import { policyMix } from "./lib/policy-mix.js";

const SIZES = [10, 50, 200];
const WARMUP = 300;
const MEASURE_MS = 2_000;
const MAX_SAMPLES = 50_000;

type Scenario = "all rules active" | "zdr only" | "no rule active";

function input(endpoints: PolicyEndpointInput[], scenario: Scenario): PolicyInput {
  const strict = scenario === "all rules active";
  const provider = strict
    ? { zdr: true, data_collection: "deny" }
    : scenario === "zdr only"
      ? { zdr: true }
      : {};
  return benchPolicyInput(endpoints, strict ? "acme-health" : "default", provider, strict ? "eu" : null);
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

function summary(samples: number[]) {
  const s = [...samples].sort((a, b) => a - b);
  const r = (x: number) => Math.round(x * 10) / 10;
  return {
    p50: r(percentile(s, 50)),
    p90: r(percentile(s, 90)),
    p99: r(percentile(s, 99)),
    max: r(s.at(-1)!),
    mean: r(s.reduce((a, b) => a + b, 0) / s.length),
  };
}

const started = performance.now();
const bundle = await readBundle(await readFile(join(repoRoot(), "policies", "dist", "bundle.tar.gz")));
const memoised = new PolicyEngine({ poolSize: 1, decisionCacheSize: 0 });
await memoised.load(bundle);
// Nothing memoised: every evaluation runs the Wasm and parses its result.
const bare = new PolicyEngine({ poolSize: 1, decisionCacheSize: 0, resultMemoSize: 0 });
await bare.load(bundle);
const fixed = !process.argv.includes("--no-fixed");
const mixAt = process.argv.indexOf("--mix");
const mixSize = mixAt > 0 ? Number(process.argv[mixAt + 1]) : 20_000;
// The catalog: every candidate of every run is one of these objects.
const catalog = benchEndpoints(Math.max(...SIZES));
memoised.setCatalog(catalog);
bare.setCatalog(catalog);

/** The committed policies with `n` more tenants, each with allowed headquarters of its own, built with opa. */
async function withMoreTenants(n: number): Promise<PolicyEngine | string> {
  const dir = await mkdtemp(join(tmpdir(), "sovr-policy-tenants-"));
  try {
    const src = join(dir, "policies");
    await cp(join(repoRoot(), "policies"), src, {
      recursive: true,
      filter: (f) => !f.includes(join("policies", "dist")),
    });
    const data = JSON.parse(await readFile(join(src, "data.json"), "utf8")) as {
      tenants: Record<string, unknown>;
    };
    for (let i = 0; i < n; i++)
      data.tenants[`bench-${i}`] = { allowed_headquarters: ["DE", "FR", `X${i}`], require_zdr: true };
    await writeFile(join(src, "data.json"), JSON.stringify(data));
    const built = await buildPolicyBundle({ sourceDir: src, outFile: join(dir, "bundle.tar.gz") });
    const engine = new PolicyEngine({ poolSize: 1, decisionCacheSize: 0, resultMemoSize: 0 });
    await engine.load(await readBundle(await readFile(built.outFile)));
    engine.setCatalog(catalog);
    return engine;
  } catch (err) {
    return `not built: ${(err as Error).message.split("\n")[0]}`;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
const MORE_TENANTS = 100;
const moreTenants = fixed ? await withMoreTenants(MORE_TENANTS) : "fixed runs off";

const runs: Array<{
  mode: "endpoint_ids" | "inline";
  scenario: Scenario;
  memo?: true;
  tenants?: true;
}> = [
  { mode: "endpoint_ids", scenario: "all rules active" },
  { mode: "endpoint_ids", scenario: "all rules active", memo: true },
  { mode: "endpoint_ids", scenario: "zdr only" },
  { mode: "endpoint_ids", scenario: "no rule active" },
  { mode: "inline", scenario: "all rules active" },
  { mode: "inline", scenario: "no rule active" },
  ...(typeof moreTenants === "string"
    ? []
    : [{ mode: "endpoint_ids", scenario: "all rules active", tenants: true } as const]),
];
const results = [];
for (const { mode, scenario, memo, tenants } of fixed ? runs : []) {
  const engine = tenants ? (moreTenants as PolicyEngine) : memo ? memoised : bare;
  for (const n of tenants ? [50] : SIZES) {
    // Copies of the catalog's endpoints are not the loaded objects: they go inline.
    const candidates = catalog.slice(0, n).map((e) => (mode === "inline" ? structuredClone(e) : e));
    const req = input(candidates, scenario);
    const before = { ...engine.stats };
    for (let i = 0; i < WARMUP; i++) await engine.evaluate(req);
    const wasm: number[] = [];
    const total: number[] = [];
    let allowed = 0;
    const cpu = process.cpuUsage();
    const until = performance.now() + MEASURE_MS;
    while (performance.now() < until && total.length < MAX_SAMPLES) {
      const t0 = performance.now();
      const r = await engine.evaluate(req);
      total.push((performance.now() - t0) * 1000);
      wasm.push(r.evalMicros);
      allowed = r.decision.allow.length;
    }
    const used = process.cpuUsage(cpu);
    const inline = engine.stats.inline - before.inline;
    const byIds = engine.stats.byIds - before.byIds;
    if (mode === "endpoint_ids" ? inline > 0 : byIds > 0)
      throw new Error(`expected ${mode} evaluations only, engine stats ${JSON.stringify(engine.stats)}`);
    results.push({
      input: mode,
      scenario: tenants ? `${scenario}, ${MORE_TENANTS} more tenants` : scenario,
      result_memo: memo ? "on" : "off",
      candidates: n,
      allowed,
      samples: total.length,
      wasm_us: summary(wasm),
      total_us: summary(total),
      cpu_us_mean: Math.round(((used.user + used.system) / total.length) * 10) / 10,
    });
  }
}

/**
 * The mixed workload through three engines, one with the decision cache (default size), one
 * without (result memo on) and one with neither cache nor memo, in chunks of 1,000 inputs,
 * rotating which goes first; every decision must equal the bare engine's.
 */
async function mix() {
  const cached = new PolicyEngine({ poolSize: 1 });
  await cached.load(bundle);
  cached.setCatalog(catalog);
  const inputs = policyMix(catalog, mixSize);
  const off: number[] = [];
  const offMemo = { hits: 0, misses: 0 };
  const none: number[] = [];
  const on: number[] = [];
  const onHit: number[] = [];
  const onMiss: number[] = [];
  // Per input of the mix: answered from the cache?
  const hitFlags: boolean[] = [];
  const time = async (e: PolicyEngine, i: PolicyInput): Promise<[number, PolicyEvaluation]> => {
    const t0 = performance.now();
    const r = await e.evaluate(i);
    return [(performance.now() - t0) * 1000, r];
  };
  // Warm-up of both engines' code paths on inputs outside the mix.
  for (const i of policyMix(catalog, 300, 7)) {
    await memoised.evaluate(i);
    await bare.evaluate(i);
    await cached.evaluate(i);
  }
  // A new catalog revision (same endpoints): the cache starts empty, as after a swap.
  cached.setCatalog(catalog);
  memoised.setCatalog(catalog);
  bare.setCatalog(catalog);
  const warmup = { ...cached.decisionCache! };
  const memoStats = (memoised as unknown as { active: { results: typeof offMemo } }).active.results;
  const memoBefore = { hits: memoStats.hits, misses: memoStats.misses };
  const CHUNK = 1_000;
  for (let c = 0; c * CHUNK < inputs.length; c++) {
    const chunk = inputs.slice(c * CHUNK, (c + 1) * CHUNK);
    // Each engine's decisions on this chunk, as JSON: all must equal the bare engine's.
    const decided: string[][] = [[], [], []];
    const runNone = async () => {
      for (const i of chunk) {
        const [us, r] = await time(bare, i);
        none.push(us);
        decided[0]!.push(JSON.stringify(r.decision));
      }
    };
    const runOff = async () => {
      for (const i of chunk) {
        const [us, r] = await time(memoised, i);
        off.push(us);
        decided[1]!.push(JSON.stringify(r.decision));
      }
    };
    const runOn = async () => {
      for (const i of chunk) {
        const [us, r] = await time(cached, i);
        on.push(us);
        (r.cached ? onHit : onMiss).push(us);
        hitFlags.push(r.cached === true);
        decided[2]!.push(JSON.stringify(r.decision));
      }
    };
    // Rotating which engine goes first, second, third.
    const order = [runNone, runOff, runOn];
    for (let k = 0; k < order.length; k++) await order[(c + k) % order.length]!();
    for (let k = 0; k < chunk.length; k++) {
      if (decided[1]![k] !== decided[0]![k])
        throw new Error(`memoised engine decided otherwise on mix input ${c * CHUNK + k}`);
      if (decided[2]![k] !== decided[0]![k])
        throw new Error(`cached engine decided otherwise on mix input ${c * CHUNK + k}`);
    }
  }
  offMemo.hits = memoStats.hits - memoBefore.hits;
  offMemo.misses = memoStats.misses - memoBefore.misses;
  const stats = cached.decisionCache!;
  const hits = stats.hits - warmup.hits;
  const misses = stats.misses - warmup.misses;
  // The inputs as the cache keys them (what the bundle reads, and the candidate ids).
  const reduced = new ByIdsInput(bundle);
  const distinct = new Set(
    inputs.map((i) =>
      reduced.json(
        i,
        i.endpoints.map((e) => e.id),
      ),
    ),
  ).size;
  return {
    inputs: inputs.length,
    candidates: 50,
    cache_entries_max: 1024,
    hit_rate: Math.round((hits / (hits + misses)) * 1000) / 1000,
    // After the cache has seen the first half of the mix (closer to a long-running router).
    hit_rate_second_half:
      Math.round(
        (hitFlags.slice(hitFlags.length / 2).filter(Boolean).length / (hitFlags.length / 2)) * 1000,
      ) / 1000,
    hits,
    misses,
    cache_entries: stats.size,
    // The most any cache could answer: every first sight of a reduced input is a miss.
    distinct_reduced_inputs: distinct,
    hit_rate_ceiling: Math.round((1 - distinct / inputs.length) * 1000) / 1000,
    cache_off_memo_off_total_us: summary(none),
    cache_off_total_us: summary(off),
    cache_off_result_memo: offMemo,
    cache_on_total_us: summary(on),
    cache_on_hits_us: onHit.length > 0 ? summary(onHit) : null,
    cache_on_misses_us: onMiss.length > 0 ? summary(onMiss) : null,
  };
}

const mixResult = mixSize > 0 ? await mix() : null;

console.log(
  JSON.stringify(
    {
      benchmark: "policy-eval",
      bundle: bundle.ref,
      decision_cache: bare.uncachedBecause ?? "off in the fixed runs",
      more_tenants: typeof moreTenants === "string" ? moreTenants : MORE_TENANTS,
      node: process.version,
      cpu: cpus()[0]?.model ?? "unknown",
      cores: cpus().length,
      duration_s: Math.round((performance.now() - started) / 100) / 10,
      results,
      mix: mixResult,
    },
    null,
    2,
  ),
);
