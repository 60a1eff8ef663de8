import type { Pricing } from "../catalog/index.js";
import { isLocalEndpoint } from "../catalog/index.js";
import type { Rng } from "./rng.js";
import type { CandidateVerdict, ProviderPreferences } from "./types.js";

/** Prices below this (USD per million tokens) weigh as this, so free local endpoints stay finite. */
const MIN_PRICE = 1e-6;

/**
 * OpenRouter's default load balancing weight: inverse square of the price
 * (prompt + completion per million tokens), so a $1 endpoint is 9× as likely as a $3 one.
 */
export function inverseSquareWeight(pricing: Pricing): number {
  const price = Math.max(pricing.prompt + pricing.completion, MIN_PRICE);
  return 1 / (price * price);
}

/** Orders `items` by successive weighted draws without replacement. Does not mutate `items`. */
export function weightedOrder<T>(items: readonly T[], weight: (t: T) => number, rng: Rng): T[] {
  const pool = items.map((item) => ({ item, w: weight(item) }));
  const out: T[] = [];
  while (pool.length > 0) {
    const total = pool.reduce((s, x) => s + x.w, 0);
    let r = rng() * total;
    let i = 0;
    for (; i < pool.length - 1; i++) {
      r -= pool[i]!.w;
      if (r < 0) break;
    }
    out.push(pool[i]!.item);
    pool.splice(i, 1);
  }
  return out;
}

export interface PlanInput {
  model: string;
  models: readonly string[];
  provider: ProviderPreferences;
}

const byPrice = (a: CandidateVerdict, b: CandidateVerdict) =>
  a.endpoint.pricing.prompt +
  a.endpoint.pricing.completion -
  (b.endpoint.pricing.prompt + b.endpoint.pricing.completion);
// Unknown throughput/latency sorts last: an endpoint we have no traffic for is no promise.
const byThroughput = (a: CandidateVerdict, b: CandidateVerdict) =>
  (b.performance.tokensPerSecond ?? -1) - (a.performance.tokensPerSecond ?? -1);
const byLatency = (a: CandidateVerdict, b: CandidateVerdict) =>
  (a.performance.ttftMs ?? Number.MAX_VALUE) - (b.performance.ttftMs ?? Number.MAX_VALUE);
const COMPARATORS = { price: byPrice, throughput: byThroughput, latency: byLatency } as const;

/** Soft preferences: endpoints meeting them come first, nothing is excluded. */
function meetsSoftPreferences(c: CandidateVerdict, p: ProviderPreferences): boolean {
  const perf = c.performance;
  if (p.preferredMinThroughput !== undefined) {
    if (perf.tokensPerSecond === undefined || perf.tokensPerSecond < p.preferredMinThroughput) return false;
  }
  if (p.preferredMaxLatency !== undefined) {
    if (perf.ttftMs === undefined || perf.ttftMs > p.preferredMaxLatency * 1000) return false;
  }
  return true;
}

/** Stable partition: items where `pred` holds first, the rest after, each in their order. */
function partition<T>(items: readonly T[], pred: (t: T) => boolean): T[] {
  return [...items.filter(pred), ...items.filter((t) => !pred(t))];
}

function orderGroup(
  group: readonly CandidateVerdict[],
  p: ProviderPreferences,
  rng: Rng,
): CandidateVerdict[] {
  let ordered: CandidateVerdict[];
  if (p.sort) {
    ordered = [...group].sort(COMPARATORS[p.sort.by]);
  } else {
    // Load balancing: weighted draw among healthy endpoints, then the unhealthy by weight.
    const healthy = group.filter((c) => !c.performance.unhealthy);
    const unhealthy = group.filter((c) => c.performance.unhealthy);
    ordered = [
      ...weightedOrder(healthy, (c) => c.weight, rng),
      ...weightedOrder(unhealthy, (c) => c.weight, rng),
    ];
  }
  ordered = partition(ordered, (c) => meetsSoftPreferences(c, p));
  // An endpoint with a recent outage goes behind healthy ones whatever the sort.
  return partition(ordered, (c) => !c.performance.unhealthy);
}

/**
 * The attempt plan (docs/architecture.md §6 step 5): explicit `order` first; else `sort`; else weighted
 * random (1/price²) among healthy endpoints, the rest as fallbacks by weight. Models of the
 * fallback list keep their order unless `sort.partition` is "none". `allow_fallbacks: false`
 * keeps one endpoint. `prefer_local` then moves local endpoints (catalog `isLocalEndpoint`) to
 * the front, across models. Pure: same inputs and rng sequence → same plan.
 */
export function planRoute(
  eligible: readonly CandidateVerdict[],
  input: PlanInput,
  rng: Rng,
): CandidateVerdict[] {
  const p = input.provider;
  const models = [input.model, ...input.models.filter((m) => m !== input.model)];
  let plan: CandidateVerdict[];
  if (p.sort?.partition === "none") {
    plan = orderGroup(eligible, p, rng);
  } else {
    plan = models.flatMap((m) =>
      orderGroup(
        eligible.filter((c) => c.endpoint.model === m),
        p,
        rng,
      ),
    );
  }
  if (p.order && p.order.length > 0) {
    const rank = (c: CandidateVerdict) => {
      const i = p.order!.findIndex((o) => o === c.endpoint.id || o === c.endpoint.provider);
      return i < 0 ? Number.MAX_SAFE_INTEGER : i;
    };
    const listed = plan.filter((c) => rank(c) !== Number.MAX_SAFE_INTEGER).sort((a, b) => rank(a) - rank(b));
    plan = [...listed, ...plan.filter((c) => rank(c) === Number.MAX_SAFE_INTEGER)];
  }
  // prefer_local (the request's, or the policy's): local endpoints lead, each part in the
  // order worked out above. After the draws, so the rng sequence is the same either way.
  if (p.preferLocal) plan = partition(plan, (c) => isLocalEndpoint(c.endpoint));
  return p.allowFallbacks ? plan : plan.slice(0, 1);
}
