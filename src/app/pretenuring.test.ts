import { PerformanceObserver } from "node:perf_hooks";
import { getHeapSpaceStatistics } from "node:v8";
import { afterAll, describe, expect, it } from "vitest";
import { stopPretenuring } from "./pretenuring.js";

// V8's flags are the process's: this file runs in a process of its own (vitest's forks pool
// isolates each file), so turning pretenuring off here reaches no other test.

const used = (space: string) => getHeapSpaceStatistics().find((s) => s.space_name === space)!.space_used_size;
const pause = () => new Promise((r) => setTimeout(r, 5));
let collections = 0;
const observer = new PerformanceObserver((list) => {
  collections += list.getEntries().length;
});
observer.observe({ entryTypes: ["gc"] });

/**
 * Keeps 1.5 million objects made by `make` (one place in the code, which V8 then judges
 * long-lived when it pretenures), then makes 20,000 more there and reports how many bytes each
 * generation grew by — from a burst with no collection in it (up to five tries).
 */
async function burst(make: (i: number) => object): Promise<{ old: number; young: number }> {
  const keep = new Array<object>(1_600_000);
  let n = 0;
  for (; n < 1_500_000; n++) keep[n] = make(n);
  for (let t = 0; t < 5; t++) {
    await pause();
    const seen = collections;
    const old = used("old_space");
    const young = used("new_space");
    for (const end = n + 20_000; n < end; n++) keep[n] = make(n);
    const grown = { old: used("old_space") - old, young: used("new_space") - young };
    await pause();
    if (collections === seen) return grown;
  }
  throw new Error("a collection in every burst");
}

describe("V8's allocation-site pretenuring", () => {
  afterAll(() => observer.disconnect());

  it("is off once stopPretenuring has run: objects from a place seen long-lived are made young", async () => {
    // V8's default first (a place judged keeps its verdict, so this one comes before): the
    // ~2.7 MB burst goes straight into the old generation.
    const before = await burst((i) => ({ a: i, b: [i], c: { d: i } }));
    expect(before.old).toBeGreaterThan(1_000_000);
    expect(before.young).toBeLessThan(before.old / 4);

    expect(stopPretenuring([], undefined)).toBe(true);
    // Another place, the same objects kept: now made young, as a request's are.
    const after = await burst((i) => ({ e: i, f: [i], g: { h: i } }));
    expect(after.young).toBeGreaterThan(1_000_000);
    expect(after.old).toBeLessThan(after.young / 4);
  }, 30_000);

  it("leaves V8 as told when node was given the flag, on its command line or in NODE_OPTIONS", () => {
    expect(stopPretenuring(["--allocation-site-pretenuring"], undefined)).toBe(false);
    expect(stopPretenuring(["--no-allocation_site_pretenuring"], undefined)).toBe(false);
    expect(stopPretenuring([], "--max-old-space-size=512 --allocation-site-pretenuring")).toBe(false);
    expect(stopPretenuring([], "--no-allocation-site-pretenuring")).toBe(false);
    // A longer flag that merely starts the same is not it.
    expect(stopPretenuring(["--allocation-site-pretenuring-something"], "")).toBe(true);
  });
});
