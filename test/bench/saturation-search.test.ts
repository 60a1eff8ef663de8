import { describe, expect, it } from "vitest";
import { type SearchOptions, searchMaxRate } from "../../bench/lib/saturation-search.js";

/**
 * The bench's search for a maximum sustainable rate, against targets whose limit is known: a
 * step passes below `limit` req/s. Every way the search can end between a pass and a failure
 * resolves the limit alike (bisection), whether the failure was a fixed rate or a ×1.5 step.
 */
function target(limit: number) {
  const steps: number[] = [];
  const step = async (rate: number) => {
    steps.push(rate);
    return { passed: rate < limit, lagP99: 1 };
  };
  return { step, steps };
}

/** One step decides a rate here (the search's path); the vote has its own test below. */
const options = (over: Partial<SearchOptions> = {}): SearchOptions => ({
  votes: 1,
  factor: 1.5,
  cap: 6000,
  gone: () => undefined,
  outOfTime: () => false,
  pause: async () => {},
  ...over,
});

describe("the maximum sustainable rate's search", () => {
  it("a failure above the fixed rates is bisected as one between them is", async () => {
    // Passed 100, 300 and 500; 750 passes, 1,150 fails: three bisections between them.
    const above = target(980);
    const r = await searchMaxRate(above.step, [100, 300, 500], [], 100, options());
    expect(above.steps).toEqual([750, 1150, 950, 1050, 1000]);
    expect(r.max).toBe(950);
    expect(r.stopped).toBe("p99 ≥ 50 ms or errors at 1150 req/s; bisection: 950 passed, 1000 req/s failed");
    // A failure between the fixed rates: decided again by the search's own step, then the
    // same three bisections.
    const between = target(470);
    const b = await searchMaxRate(between.step, [100, 300], [500], 100, options());
    expect(between.steps).toEqual([500, 400, 450, 480]);
    expect(b).toEqual({
      max: 450,
      stopped: "bisection between the fixed rates: 450 passed, 480 req/s failed (its fixed cell and a vote)",
    });
  });

  it("a fixed rate that failed by a hair does not cap the search: it is decided again first", async () => {
    // The 500 req/s cell failed (its two rounds' p99 pooled: 50.7 ms), but the target's limit
    // is 980: the search's own step at 500 passes, and the search climbs from there.
    const hair = target(980);
    const r = await searchMaxRate(hair.step, [100, 300], [500], 100, options());
    expect(hair.steps).toEqual([500, 750, 1150, 950, 1050, 1000]);
    expect(r).toEqual({
      max: 950,
      stopped:
        "500 req/s failed its fixed cell but passed a vote; p99 ≥ 50 ms or errors at 1150 req/s; bisection: 950 passed, 1000 req/s failed",
    });
    // A failing cell below the highest passing one (300 failed, 500 passed) bounds nothing.
    const odd = target(980);
    const o = await searchMaxRate(odd.step, [100, 500], [300], 100, options());
    expect(odd.steps).toEqual([750, 1150, 950, 1050, 1000]);
    expect(o.max).toBe(950);
  });

  it("stops at the cap, when the load generator lags, when time is up or the system has gone", async () => {
    const fast = target(1e9);
    expect(await searchMaxRate(fast.step, [500], [], 100, options({ cap: 1200 }))).toEqual({
      max: 1150,
      stopped: "reached the cap of 1200 req/s",
    });
    const lagging = async (rate: number) => ({ passed: true, lagP99: rate > 700 ? 12 : 1 });
    expect(await searchMaxRate(lagging, [500], [], 100, options())).toEqual({
      max: 750,
      stopped:
        "load generator could not keep up at 750 req/s (send lag p99 12 ms): the target's limit is at least 750 req/s",
    });
    // Late and failed: the limit is the step before.
    const laggingFail = async (rate: number) => ({ passed: rate < 1000, lagP99: rate > 1000 ? 19 : 1 });
    expect((await searchMaxRate(laggingFail, [500], [], 100, options())).stopped).toBe(
      "load generator could not keep up at 1150 req/s (send lag p99 19 ms): the target's limit is at least 750 req/s",
    );
    let budget = 2;
    const timed = target(1e9);
    const t = await searchMaxRate(timed.step, [500], [], 100, options({ outOfTime: () => budget-- <= 0 }));
    expect(t).toEqual({ max: 1150, stopped: "time budget" });
    // Gone during a failed step: no bisection of a system that is not there.
    let exited: string | undefined;
    const dying = async (rate: number) => {
      exited = "exited with code 1";
      return { passed: rate < 600, lagP99: 1 };
    };
    expect(await searchMaxRate(dying, [500], [], 100, options({ gone: () => exited }))).toEqual({
      max: 500,
      stopped: "exited with code 1",
    });
  });

  it("a bisection step whose load generator sent late ends the search with a lower bound", async () => {
    // Limit 980 above the fixed rates: 750 passes, 1,150 fails, then the bisection's first step
    // (950) passed but went out late: 950 is a lower bound, and no later step is taken.
    const passedLate: number[] = [];
    const r = await searchMaxRate(
      async (rate) => {
        passedLate.push(rate);
        return { passed: rate < 980, lagP99: rate === 950 ? 14.3 : 1 };
      },
      [100, 300, 500],
      [],
      100,
      options(),
    );
    expect(passedLate).toEqual([750, 1150, 950]);
    expect(r).toEqual({
      max: 950,
      stopped:
        "p99 ≥ 50 ms or errors at 1150 req/s; bisection: load generator could not keep up at 950 req/s (send lag p99 14.3 ms): the target's limit is at least 950 req/s",
    });
    // Between the fixed rates, a late failure at 400 does not make 400 the bound: the limit is
    // at least the last rate that passed in time (300), and nothing below 400 is claimed.
    const failedLate: number[] = [];
    const b = await searchMaxRate(
      async (rate) => {
        failedLate.push(rate);
        return { passed: rate < 350, lagP99: rate === 400 ? 22 : 1 };
      },
      [100, 300],
      [500],
      100,
      options(),
    );
    expect(failedLate).toEqual([500, 400]);
    expect(b).toEqual({
      max: 300,
      stopped:
        "bisection: load generator could not keep up at 400 req/s (send lag p99 22 ms): the target's limit is at least 300 req/s",
    });
  });

  it("nothing passed at the fixed rates: halves until a rate passes", async () => {
    const slow = target(30);
    const r = await searchMaxRate(slow.step, [], [100, 300], 100, options());
    expect(slow.steps).toEqual([50, 25]);
    expect(r).toEqual({ max: 25, stopped: "no fixed rate passed; halving: 25 req/s passed" });
  });

  it("a rate is decided by the majority of three steps apart in time, not by one", async () => {
    // Limit 980, but every third step overall flukes (a pause lands in it): the opposite verdict.
    const steps: Array<[number, boolean]> = [];
    const pauses: boolean[] = [];
    let n = 0;
    const flaky = async (rate: number) => {
      const passed = ++n % 3 === 0 ? rate >= 980 : rate < 980;
      steps.push([rate, passed]);
      return { passed, lagP99: 1 };
    };
    const r = await searchMaxRate(flaky, [100, 300, 500], [], 100, {
      ...options({ votes: undefined }),
      pause: async (long) => {
        pauses.push(long);
      },
    });
    expect(r.max).toBe(950);
    expect(r.stopped).toBe("p99 ≥ 50 ms or errors at 1150 req/s; bisection: 950 passed, 1000 req/s failed");
    // Every fluke is outvoted: the verdicts are those of a clean target of limit 980.
    expect(steps).toEqual([
      [750, true],
      [750, true],
      [1150, true], // fluke
      [1150, false],
      [1150, false],
      [950, false], // fluke
      [950, true],
      [950, true],
      [1050, true], // fluke
      [1050, false],
      [1050, false],
      [1000, true], // fluke
      [1000, false],
      [1000, false],
    ]);
    // A pause between the steps of a vote as after each verdict: the steps are apart in time.
    expect(pauses.length).toBe(steps.length);
    // With one step a rate, the first fluke decides: 1,150 "passes" and the search goes on up.
    n = 0;
    steps.length = 0;
    const single = await searchMaxRate(flaky, [100, 300, 500], [], 100, options());
    expect(single.max).not.toBe(950);
  });

  it("late steps do not vote while steps on time decide; a tie cut short by time fails", async () => {
    // Every step at 750 went out late: the verdict is theirs, and 750 only a lower bound.
    const lagging = async (rate: number) => ({ passed: true, lagP99: rate > 700 ? 12 : 1 });
    const late: number[] = [];
    const r = await searchMaxRate(
      async (rate) => {
        late.push(rate);
        return lagging(rate);
      },
      [500],
      [],
      100,
      options({ votes: 3 }),
    );
    expect(late).toEqual([750, 750, 750]);
    expect(r).toEqual({
      max: 750,
      stopped:
        "load generator could not keep up at 750 req/s (send lag p99 12 ms): the target's limit is at least 750 req/s",
    });
    // A target that overloads the shared cores makes some of its own steps late (full run
    // 15-07-54, sovr-pg-grpc at 450: 87.4 ms on time, 77.4 ms late). The steps on time decide:
    // 450 fails by two of them, and the search bisects instead of ending at "at least 300".
    const overloading: Array<[number, number]> = [];
    let n = 0;
    const o = await searchMaxRate(
      async (rate) => {
        const lagP99 = rate >= 450 && n++ % 2 === 1 ? 12.3 : 4;
        overloading.push([rate, lagP99]);
        return { passed: rate < 400, lagP99 };
      },
      [100, 300],
      [500],
      100,
      options({ votes: 3 }),
    );
    expect(overloading.slice(0, 6)).toEqual([
      [500, 4],
      [500, 12.3],
      [500, 4],
      [400, 4],
      [400, 4],
      [350, 4],
    ]);
    expect(o.max).toBe(380);
    expect(o.stopped).toBe(
      "bisection between the fixed rates: 380 passed, 400 req/s failed (its fixed cell and a vote)",
    );
    // Pass then fail at 750, then the time is up: one each is no majority, so 750 fails.
    let budget = 2;
    let k = 0;
    const split = await searchMaxRate(
      async () => ({ passed: k++ % 2 === 0, lagP99: 1 }),
      [500],
      [],
      100,
      options({ votes: 3, outOfTime: () => budget-- <= 0 }),
    );
    expect(split.max).toBe(500);
  });
});
