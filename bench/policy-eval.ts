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
 * Run: npx tsx bench/policy-eval.ts   (about 30 s; prints JSON)
 *
 * `wasm_us` is the engine's evalMicros (input serialisation, Wasm evaluation, result
 * decoding); `total_us` adds pool acquisition and decision parsing/validation, i.e. what
 * a request pays.
 */
import { readFile } from "node:fs/promises";
import { cpus } from "node:os";
import { join } from "node:path";
import { readBundle } from "../src/policy/bundle.js";
import { PolicyEngine } from "../src/policy/engine.js";
import { repoRoot } from "../src/policy/opa-bin.js";
import type { PolicyEndpointInput, PolicyInput } from "../src/policy/types.js";

const SIZES = [10, 50, 200];
const WARMUP = 300;
const MEASURE_MS = 2_000;
const MAX_SAMPLES = 50_000;

/** A realistic mix: compliant EU, retaining US, unknown attributes, non-EU country in "eu". */
function endpoints(n: number): PolicyEndpointInput[] {
  return Array.from({ length: n }, (_, i) => {
    const kind = i % 4;
    return {
      id: `provider-${i % 17}/model-${i}`,
      provider: `provider-${i % 17}`,
      provider_headquarters: ["FR", "US", "DE", ""][kind]!,
      model: "bench/model",
      quantization: "bf16",
      pricing: { prompt: 1 + (i % 5), completion: 2 + (i % 7) },
      context_length: 131072,
      supported_parameters: ["temperature", "top_p", "max_tokens", "tools"],
      kind: "chat",
      input_modalities: ["text"],
      retention_days:
        kind === 2 ? { value: null, source: "assumed" } : { value: kind === 1 ? 30 : 0, source: "provider" },
      trains_on_data: kind === 2 ? { value: null, source: "assumed" } : { value: false, source: "provider" },
      residency:
        kind === 2
          ? { value: { region: null, country: null }, source: "assumed" }
          : {
              value:
                kind === 1
                  ? { region: "us", country: "US" }
                  : { region: "eu", country: kind === 3 ? "CH" : "FR" },
              source: "endpoint",
            },
      caching: kind === 2 ? { value: null, source: "assumed" } : { value: "in_memory", source: "provider" },
    };
  });
}

type Scenario = "all rules active" | "zdr only" | "no rule active";

function input(endpoints: PolicyEndpointInput[], scenario: Scenario): PolicyInput {
  const strict = scenario === "all rules active";
  return {
    request: {
      model: "bench/model",
      models: [],
      provider: strict
        ? { zdr: true, data_collection: "deny" }
        : scenario === "zdr only"
          ? { zdr: true }
          : {},
      region: strict ? "eu" : null,
      labels: {},
      estimated_prompt_tokens: 1200,
      max_tokens: 512,
      parameters: ["temperature"],
      retention_parameters: [],
      modalities: ["text"],
      operation: "chat",
    },
    principal: { tenant: strict ? "acme-health" : "default", workload: "bench", roles: ["client"] },
    endpoints,
    now: new Date(0).toISOString(),
  };
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
const engine = new PolicyEngine({ poolSize: 1 });
await engine.load(bundle);
// The catalog: every candidate of every run is one of these objects.
const catalog = endpoints(Math.max(...SIZES));
engine.setCatalog(catalog);

const runs: Array<{ mode: "endpoint_ids" | "inline"; scenario: Scenario }> = [
  { mode: "endpoint_ids", scenario: "all rules active" },
  { mode: "endpoint_ids", scenario: "zdr only" },
  { mode: "endpoint_ids", scenario: "no rule active" },
  { mode: "inline", scenario: "all rules active" },
  { mode: "inline", scenario: "no rule active" },
];
const results = [];
for (const { mode, scenario } of runs) {
  for (const n of SIZES) {
    // Copies of the catalog's endpoints are not the loaded objects: they go inline.
    const candidates = catalog.slice(0, n).map((e) => (mode === "inline" ? structuredClone(e) : e));
    const req = input(candidates, scenario);
    const before = { ...engine.stats };
    for (let i = 0; i < WARMUP; i++) await engine.evaluate(req);
    const wasm: number[] = [];
    const total: number[] = [];
    let allowed = 0;
    const until = performance.now() + MEASURE_MS;
    while (performance.now() < until && total.length < MAX_SAMPLES) {
      const t0 = performance.now();
      const r = await engine.evaluate(req);
      total.push((performance.now() - t0) * 1000);
      wasm.push(r.evalMicros);
      allowed = r.decision.allow.length;
    }
    const inline = engine.stats.inline - before.inline;
    const byIds = engine.stats.byIds - before.byIds;
    if (mode === "endpoint_ids" ? inline > 0 : byIds > 0)
      throw new Error(`expected ${mode} evaluations only, engine stats ${JSON.stringify(engine.stats)}`);
    results.push({
      input: mode,
      scenario,
      candidates: n,
      allowed,
      samples: total.length,
      wasm_us: summary(wasm),
      total_us: summary(total),
    });
  }
}

console.log(
  JSON.stringify(
    {
      benchmark: "policy-eval",
      bundle: bundle.ref,
      node: process.version,
      cpu: cpus()[0]?.model ?? "unknown",
      cores: cpus().length,
      duration_s: Math.round((performance.now() - started) / 100) / 10,
      results,
    },
    null,
    2,
  ),
);
