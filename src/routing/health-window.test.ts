import { describe, expect, it } from "vitest";
import { HealthTracker } from "./health.js";
import { seededRng } from "./rng.js";

/** The window as first written: every outcome kept in an array, failures counted per call. */
class ReferenceHealth {
  readonly recent: { at: number; ok: boolean }[] = [];
  streak = 0;
  constructor(private readonly now: () => number) {}
  #prune(now: number) {
    while (this.recent.length > 0 && this.recent[0]!.at < now - 30_000) this.recent.shift();
  }
  record(ok: boolean) {
    const now = this.now();
    this.recent.push({ at: now, ok });
    this.#prune(now);
    this.streak = ok ? 0 : this.streak + 1;
  }
  unhealthy(): boolean {
    this.#prune(this.now());
    const failures = this.recent.filter((r) => !r.ok).length;
    const last = this.recent.at(-1);
    return (
      (last !== undefined && !last.ok && this.streak >= 3) ||
      (this.recent.length >= 4 && failures / this.recent.length >= 0.5)
    );
  }
}

describe("HealthTracker window", () => {
  it("says what a tracker keeping every outcome says, over random outcomes and clock steps", () => {
    for (let run = 0; run < 20; run++) {
      const rng = seededRng(BigInt(run + 1));
      let t = 1_000_000;
      const now = () => t;
      const h = new HealthTracker({ now });
      const ref = new ReferenceHealth(now);
      const failRate = rng() * 0.8;
      // Some runs dense (thousands of outcomes in the window: the ring grows, then shrinks).
      const step = run % 2 === 0 ? 50 : 4;
      for (let i = 0; i < 5_000; i++) {
        const r = rng();
        // Mostly small steps (the window fills), sometimes long gaps (it empties).
        t += r < 0.01 ? Math.floor(rng() * 40_000) : Math.floor(rng() * step);
        if (r < 0.5) {
          const ok = rng() >= failRate;
          if (ok) h.recordSuccess("e");
          else h.recordFailure("e");
          ref.record(ok);
        } else {
          expect(h.performance("e").unhealthy).toBe(ref.unhealthy());
        }
      }
    }
  });
});
