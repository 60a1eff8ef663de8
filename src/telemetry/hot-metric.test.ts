import { Counter, Histogram, Registry } from "prom-client";
import { describe, expect, it } from "vitest";
import { HotCounter, HotHistogram } from "./hot-metric.js";

const BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];
// Below, on, between and above the bounds, and a zero.
const VALUES = [0, 0.0004, 0.001, 0.0011, 0.0025, 0.3, 0.3, 7, 30, 31, 1e6, 0.000_05];

function pair(contentType: string = Registry.PROMETHEUS_CONTENT_TYPE) {
  const theirs = new Registry();
  const ours = new Registry();
  for (const r of [theirs, ours]) r.setContentType(contentType as typeof Registry.PROMETHEUS_CONTENT_TYPE);
  return { theirs, ours };
}

describe("HotHistogram", () => {
  it.each([Registry.PROMETHEUS_CONTENT_TYPE, Registry.OPENMETRICS_CONTENT_TYPE])(
    "is exposed exactly as prom-client's Histogram (%s)",
    async (type) => {
      const { theirs, ours } = pair(type);
      const h = new Histogram({
        name: "x_seconds",
        help: "Some help.",
        buckets: BUCKETS,
        registers: [theirs],
      });
      const hot = new HotHistogram({
        name: "x_seconds",
        help: "Some help.",
        buckets: BUCKETS,
        registers: [ours],
      });
      expect(await ours.metrics()).toBe(await theirs.metrics());
      for (const v of VALUES) {
        h.observe(v);
        hot.observe(v);
      }
      expect(await ours.metrics()).toBe(await theirs.metrics());
      expect(await ours.getMetricsAsJSON()).toEqual(await theirs.getMetricsAsJSON());
      theirs.resetMetrics();
      ours.resetMetrics();
      hot.observe(0.02);
      h.observe(0.02);
      expect(await ours.metrics()).toBe(await theirs.metrics());
    },
  );

  it("refuses buckets out of order, and a value that is not a finite number", async () => {
    const r = new Registry();
    expect(() => new HotHistogram({ name: "b", help: "h", buckets: [5, 1, 2], registers: [r] })).toThrow(
      /buckets must increase/,
    );
    expect(() => new HotHistogram({ name: "c", help: "h", buckets: [1, 1], registers: [r] })).toThrow(
      /buckets must increase/,
    );
    const hot = new HotHistogram({ name: "d", help: "h", buckets: [1, 2], registers: [r] });
    hot.observe(1.5);
    expect(() => hot.observe(Number.NaN)).toThrow(/not a finite number/);
    expect(() => hot.observe(Number.POSITIVE_INFINITY)).toThrow(/not a finite number/);
    expect(await r.metrics()).toBe(
      '# HELP d h\n# TYPE d histogram\nd_bucket{le="1"} 0\nd_bucket{le="2"} 1\nd_bucket{le="+Inf"} 1\nd_sum 1.5\nd_count 1\n',
    );
  });

  it("takes its registry's name: a second metric of that name is refused", () => {
    const r = new Registry();
    new HotHistogram({ name: "dup", help: "h", buckets: [1], registers: [r] });
    expect(() => new Counter({ name: "dup", help: "h", registers: [r] })).toThrow(/already been registered/);
  });
});

describe("HotCounter", () => {
  it("is exposed exactly as prom-client's Counter with the same label names", async () => {
    for (const type of [Registry.PROMETHEUS_CONTENT_TYPE, Registry.OPENMETRICS_CONTENT_TYPE]) {
      const { theirs, ours } = pair(type);
      const c = new Counter({
        name: "y_total",
        help: "Y.",
        labelNames: ["endpoint", "result"],
        registers: [theirs],
      });
      const hot = new HotCounter({
        name: "y_total",
        help: "Y.",
        labelNames: ["endpoint", "result"],
        registers: [ours],
      });
      expect(await ours.metrics()).toBe(await theirs.metrics());
      const calls = [
        { endpoint: "a", result: "ok" },
        { endpoint: "b", result: "ok" },
        { endpoint: "a", result: "ok" },
        { endpoint: "a", result: "timeout_idle" },
        // A label value with a quote, a backslash and a newline: escaped by the registry alike.
        { endpoint: 'we"ird\\\n', result: "ok" },
      ];
      for (const l of calls) {
        c.inc(l);
        hot.inc(l);
      }
      c.inc({ endpoint: "b", result: "ok" }, 3);
      hot.inc({ endpoint: "b", result: "ok" }, 3);
      expect(await ours.metrics()).toBe(await theirs.metrics());
      expect(await ours.getMetricsAsJSON()).toEqual(await theirs.getMetricsAsJSON());
      theirs.resetMetrics();
      ours.resetMetrics();
      expect(await ours.metrics()).toBe(await theirs.metrics());
    }
  });

  it("refuses labels it was not given, or a missing one", () => {
    const hot = new HotCounter({
      name: "z",
      help: "h",
      labelNames: ["outcome"],
      registers: [new Registry()],
    });
    expect(() => hot.inc({ outcome: "ok", other: "x" } as never)).toThrow(/labels other than outcome/);
    expect(() => hot.inc({} as never)).toThrow(/label outcome missing/);
    hot.inc({ outcome: "ok" });
    expect(hot.get().values).toEqual([{ labels: { outcome: "ok" }, value: 1 }]);
  });
});
