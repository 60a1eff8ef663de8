import { describe, expect, it } from "vitest";
import { type SearchOptions, searchMaxRate } from "../../bench/lib/saturation-search.js";
import { turns } from "../../bench/lib/turns.js";

/**
 * The targets' maximum-rate searches run side by side (bench/lib/matrix.ts) with their steps
 * taking turns: one step at a time, going round the targets, each search's result the one it
 * finds alone.
 */
const options = (): SearchOptions => ({
  votes: 3,
  factor: 1.5,
  cap: 6000,
  gone: () => undefined,
  outOfTime: () => false,
  pause: async () => {},
});

describe("the searches' turns", () => {
  it("steps go round the targets one at a time, and each search finds what it finds alone", async () => {
    const limits = { a: 980, b: 470, c: 1e9 };
    const order: string[] = [];
    let running = 0;
    let overlapped = false;
    const search = (id: keyof typeof limits, take: <T>(task: () => Promise<T>) => Promise<T>) =>
      searchMaxRate(
        (rate) =>
          take(async () => {
            running++;
            if (running > 1) overlapped = true;
            order.push(id);
            await new Promise((r) => setTimeout(r, 1));
            running--;
            return { passed: rate < limits[id], lagP99: 1 };
          }),
        [100, 300],
        id === "b" ? [500] : [],
        100,
        { ...options(), cap: id === "c" ? 1000 : 6000 },
      );
    const alone = await Promise.all((["a", "b", "c"] as const).map((id) => search(id, (task) => task())));
    // Without turns (each search as if alone) their steps overlap in time; taking turns, none do.
    expect(overlapped).toBe(true);
    order.length = 0;
    overlapped = false;
    const t = turns();
    const together = await Promise.all(
      (["a", "b", "c"] as const).map((id) => search(id, (task) => t.take(task))),
    );
    expect(together).toEqual(alone);
    expect(overlapped).toBe(false);
    // Round the targets while all three search; the longest search's steps end the order alone.
    const counts = { a: 0, b: 0, c: 0 };
    for (const id of order) counts[id as keyof typeof counts]++;
    const shortest = Math.min(...Object.values(counts));
    expect(order.slice(0, 3 * shortest)).toEqual(Array(shortest).fill(["a", "b", "c"]).flat());
    expect(t.pending()).toBe(0);
  });

  it("a task that fails does not stop the turns after it", async () => {
    const t = turns();
    const failed = t.take(async () => {
      throw new Error("step failed");
    });
    const next = t.take(async () => "measured");
    await expect(failed).rejects.toThrow("step failed");
    await expect(next).resolves.toBe("measured");
    expect(t.pending()).toBe(0);
  });
});
