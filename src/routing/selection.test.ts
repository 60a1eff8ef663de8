import { describe, expect, it } from "vitest";
import { endpoint, request, verdict } from "./fixtures/candidates.js";
import { seededRng } from "./rng.js";
import { inverseSquareWeight, planRoute, weightedOrder } from "./selection.js";

const ids = (plan: { endpoint: { id: string } }[]) => plan.map((c) => c.endpoint.id);

/** χ² critical value for 1 degree of freedom at p = 0.001. */
const CHI2_1DF_P001 = 10.828;

function chiSquare(observed: number[], expected: number[]): number {
  return observed.reduce((s, o, i) => s + (o - expected[i]!) ** 2 / expected[i]!, 0);
}

describe("default load balancing (1/price²)", () => {
  const cheap = verdict(endpoint("one/a", { pricing: { prompt: 0.5, completion: 0.5 } })); // $1
  const dear = verdict(endpoint("three/a", { pricing: { prompt: 1, completion: 2 } })); // $3

  it("weighs a $1 endpoint 9× a $3 one", () => {
    expect(
      inverseSquareWeight(cheap.endpoint.pricing) / inverseSquareWeight(dear.endpoint.pricing),
    ).toBeCloseTo(9, 10);
  });

  it("2,000 seeded selections are consistent with 9:1 (χ², p = 0.001)", () => {
    const counts = { "one/a": 0, "three/a": 0 };
    for (let seed = 1; seed <= 2000; seed++) {
      const plan = planRoute([dear, cheap], request(), seededRng(BigInt(seed) * 0x9e3779b97f4a7c15n));
      counts[plan[0]!.endpoint.id as keyof typeof counts]++;
      // Every plan keeps the other endpoint as the fallback.
      expect(plan).toHaveLength(2);
    }
    const chi2 = chiSquare([counts["one/a"], counts["three/a"]], [1800, 200]);
    expect(chi2).toBeLessThan(CHI2_1DF_P001);
    // The test has power: a 1/price weighting (3:1) over the same seeds is rejected.
    const linear = { "one/a": 0, "three/a": 0 };
    for (let seed = 1; seed <= 2000; seed++) {
      const [first] = weightedOrder(
        [dear, cheap],
        (c) => 1 / (c.endpoint.pricing.prompt + c.endpoint.pricing.completion),
        seededRng(BigInt(seed) * 0x9e3779b97f4a7c15n),
      );
      linear[first!.endpoint.id as keyof typeof linear]++;
    }
    expect(chiSquare([linear["one/a"], linear["three/a"]], [1800, 200])).toBeGreaterThan(CHI2_1DF_P001);
  });

  it("is deterministic for a seed and does not mutate its input", () => {
    const input = [dear, cheap];
    const a = planRoute(input, request(), seededRng(42n));
    const b = planRoute(input, request(), seededRng(42n));
    expect(ids(a)).toEqual(ids(b));
    expect(input.map((c) => c.endpoint.id)).toEqual(["three/a", "one/a"]);
  });

  it("puts endpoints with a recent outage behind healthy ones whatever their price", () => {
    const sick = verdict(endpoint("one/a", { pricing: { prompt: 0.01, completion: 0.01 } }), {
      unhealthy: true,
    });
    for (let seed = 1n; seed < 50n; seed++)
      expect(ids(planRoute([sick, dear], request(), seededRng(seed)))).toEqual(["three/a", "one/a"]);
  });
});

describe("order, sort and fallbacks", () => {
  const a = verdict(endpoint("pa/x", { pricing: { prompt: 3, completion: 3 } }), {
    unhealthy: false,
    ttftMs: 900,
    tokensPerSecond: 80,
  });
  const b = verdict(endpoint("pb/x", { pricing: { prompt: 1, completion: 1 } }), {
    unhealthy: false,
    ttftMs: 100,
    tokensPerSecond: 20,
  });
  const c = verdict(endpoint("pc/x", { pricing: { prompt: 2, completion: 2 } }), { unhealthy: false });
  const all = [a, b, c];

  it("order: listed providers (or endpoint ids) first, in that order, then the rest", () => {
    const plan = planRoute(all, request({ order: ["pc", "pa/x"] }), seededRng(1n));
    expect(ids(plan).slice(0, 2)).toEqual(["pc/x", "pa/x"]);
    expect(ids(plan)).toHaveLength(3);
  });

  it("allow_fallbacks: false keeps one endpoint", () => {
    expect(ids(planRoute(all, request({ order: ["pa"], allowFallbacks: false }), seededRng(1n)))).toEqual([
      "pa/x",
    ]);
  });

  it("sort by price, throughput and latency (unknown performance last)", () => {
    const sort = (by: "price" | "throughput" | "latency") =>
      ids(planRoute(all, request({ sort: { by, partition: "model" } }), seededRng(1n)));
    expect(sort("price")).toEqual(["pb/x", "pc/x", "pa/x"]);
    expect(sort("throughput")).toEqual(["pa/x", "pb/x", "pc/x"]);
    expect(sort("latency")).toEqual(["pb/x", "pa/x", "pc/x"]);
  });

  it("soft preferences rank lower, never exclude", () => {
    const plan = ids(
      planRoute(
        all,
        request({ sort: { by: "price", partition: "model" }, preferredMinThroughput: 50 }),
        seededRng(1n),
      ),
    );
    expect(plan).toEqual(["pa/x", "pb/x", "pc/x"]);
    const fast = ids(
      planRoute(
        all,
        request({ sort: { by: "price", partition: "model" }, preferredMaxLatency: 0.5 }),
        seededRng(1n),
      ),
    );
    // pa is cheapest-but-one yet too slow to first token; pc has no data: both behind pb.
    expect(fast).toEqual(["pb/x", "pc/x", "pa/x"]);
    const slowFirst = ids(
      planRoute(
        all,
        request({ sort: { by: "latency", partition: "model" }, preferredMinThroughput: 50 }),
        seededRng(1n),
      ),
    );
    expect(slowFirst).toEqual(["pa/x", "pb/x", "pc/x"]);
  });

  it("model fallbacks: the requested model's endpoints first; partition none sorts across models", () => {
    const m2 = verdict(endpoint("pz/y", { model: "m/b", pricing: { prompt: 0.1, completion: 0.1 } }));
    const req = request({ sort: { by: "price", partition: "model" } }, { model: "m/a", models: ["m/b"] });
    const x = (m: typeof a) => ({ ...m, endpoint: { ...m.endpoint, model: "m/a" } });
    expect(ids(planRoute([m2, x(a), x(b)], req, seededRng(1n)))).toEqual(["pb/x", "pa/x", "pz/y"]);
    const none = request({ sort: { by: "price", partition: "none" } }, { model: "m/a", models: ["m/b"] });
    expect(ids(planRoute([m2, x(a), x(b)], none, seededRng(1n)))).toEqual(["pz/y", "pb/x", "pa/x"]);
    // Without sort, each model's endpoints are load-balanced within the model, models in order.
    expect(
      ids(planRoute([m2, x(a), x(b)], request({}, { model: "m/a", models: ["m/b"] }), seededRng(7n))).at(-1),
    ).toBe("pz/y");
  });
});
