import { describe, expect, it } from "vitest";
import { EndpointStatsTracker } from "./index.js";

const MIN = 60_000;

function tracker(start = 1_700_000_000_000) {
  let now = start;
  const t = new EndpointStatsTracker({ now: () => now });
  return {
    t,
    advance: (ms: number) => {
      now += ms;
    },
    now: () => now,
  };
}

describe("EndpointStatsTracker", () => {
  it("reports nothing for an endpoint without traffic", () => {
    expect(tracker().t.get("x")).toEqual({
      endpointId: "x",
      requests5m: 0,
      requests30m: 0,
      uptime5m: null,
      uptime30m: null,
      ttftP50Ms: null,
      ttftP90Ms: null,
      tokensPerSecond: null,
    });
  });

  it("computes uptime over 5 and 30 minutes separately", () => {
    const { t, advance } = tracker();
    for (let i = 0; i < 10; i++) t.record("e", { ok: false }); // old failures
    advance(10 * MIN);
    for (let i = 0; i < 10; i++) t.record("e", { ok: true });
    const s = t.get("e");
    expect(s.uptime5m).toBe(1);
    expect(s.uptime30m).toBe(0.5);
    expect(s.requests5m).toBe(10);
    expect(s.requests30m).toBe(20);
  });

  it("forgets samples older than 30 minutes", () => {
    const { t, advance } = tracker();
    t.record("e", { ok: false });
    advance(31 * MIN);
    t.record("e", { ok: true });
    expect(t.get("e").uptime30m).toBe(1);
    advance(31 * MIN);
    expect(t.get("e").requests30m).toBe(0);
  });

  it("ignores samples dated before the window and places late samples in their bucket", () => {
    const { t, now } = tracker();
    t.record("e", { ok: false, at: now() - 40 * MIN });
    expect(t.get("e").requests30m).toBe(0);
    t.record("e", { ok: false, at: now() - 10 * MIN });
    expect(t.get("e").requests30m).toBe(1);
    expect(t.get("e").requests5m).toBe(0);
  });

  it("estimates TTFT p50 and p90 within the histogram's resolution", () => {
    const { t } = tracker();
    // 1..100 ms uniformly: p50 ≈ 50, p90 ≈ 90
    for (let ms = 1; ms <= 100; ms++) t.record("e", { ok: true, ttftMs: ms });
    const s = t.get("e");
    expect(s.ttftP50Ms).toBeGreaterThan(50 * 0.9);
    expect(s.ttftP50Ms).toBeLessThan(50 * 1.1);
    expect(s.ttftP90Ms).toBeGreaterThan(90 * 0.9);
    expect(s.ttftP90Ms).toBeLessThan(90 * 1.1);
  });

  it("counts TTFT only from successful requests", () => {
    const { t } = tracker();
    t.record("e", { ok: true, ttftMs: 100 });
    t.record("e", { ok: false, ttftMs: 10_000 });
    expect(t.get("e").ttftP90Ms).toBeLessThan(110);
  });

  it("computes tokens per second over generation time after the first token", () => {
    const { t } = tracker();
    t.record("e", { ok: true, ttftMs: 200, tokens: 100, durationMs: 1200 }); // 100 tok in 1 s
    t.record("e", { ok: true, tokens: 300, durationMs: 1000 }); // 300 tok in 1 s
    expect(t.get("e").tokensPerSecond).toBe(200);
  });

  it("keeps endpoints apart, lists them, and forgets one", () => {
    const { t } = tracker();
    t.record("b", { ok: true });
    t.record("a", { ok: false });
    expect([...t.all().keys()]).toEqual(["a", "b"]);
    expect(t.get("a").uptime5m).toBe(0);
    t.forget("a");
    expect([...t.all().keys()]).toEqual(["b"]);
  });

  it("memory stays bounded: a day of traffic reuses the same buckets", () => {
    const { t, advance } = tracker();
    for (let i = 0; i < 24 * 60; i++) {
      t.record("e", { ok: i % 2 === 0, ttftMs: 50 });
      advance(MIN);
    }
    // Only the last 30 minutes count (30 or 31 samples depending on bucket alignment).
    expect(t.get("e").requests30m).toBeGreaterThanOrEqual(30);
    expect(t.get("e").requests30m).toBeLessThanOrEqual(31);
  });

  it("rejects a bucket width that does not divide the window", () => {
    expect(() => new EndpointStatsTracker({ bucketMs: 7_000 })).toThrow(RangeError);
  });
});
