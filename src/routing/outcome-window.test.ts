import { describe, expect, it } from "vitest";
import { OutcomeWindow } from "./outcome-window.js";
import { seededRng } from "./rng.js";

describe("OutcomeWindow", () => {
  it("holds what a plain list holds (size, failures, newest), growing and shrinking", () => {
    const rng = seededRng(5n);
    const w = new OutcomeWindow();
    const list: { at: number; ok: boolean }[] = [];
    let t = 0;
    let failures = 0;
    for (let i = 0; i < 60_000; i++) {
      // Bursts of thousands, then drops of every size (part of the window, or all of it).
      const phase = Math.floor(i / 5_000) % 3;
      if (phase < 2 || rng() < 0.3) {
        t += 1;
        const ok = rng() < 0.7;
        w.push(t, ok);
        list.push({ at: t, ok });
        if (!ok) failures++;
      } else {
        const cutoff = t - Math.floor(rng() * 6_000);
        w.dropBefore(cutoff);
        while (list.length > 0 && list[0]!.at < cutoff) if (!list.shift()!.ok) failures--;
      }
      expect(w.size).toBe(list.length);
      expect(w.failures).toBe(failures);
      expect(w.lastFailed).toBe(list.length > 0 && !list.at(-1)!.ok);
    }
  });
});
