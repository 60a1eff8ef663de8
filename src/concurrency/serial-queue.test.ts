import { describe, expect, it } from "vitest";
import { SerialQueue } from "./serial-queue.js";

/** A promise and the functions that settle it. */
function held<T>() {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((a, b) => {
    resolve = a;
    reject = b;
  });
  return { promise, resolve, reject };
}

describe("SerialQueue", () => {
  it("starts each task only once the ones before it have settled, in the order given", async () => {
    const q = new SerialQueue();
    const log: string[] = [];
    const first = held<string>();
    const a = q.run(async () => {
      log.push("a starts");
      return first.promise;
    });
    const b = q.run(() => {
      log.push("b starts");
      return "b";
    });
    await new Promise((r) => setImmediate(r));
    expect(log).toEqual(["a starts"]);
    first.resolve("a");
    expect(await a).toBe("a");
    expect(await b).toBe("b");
    expect(log).toEqual(["a starts", "b starts"]);
  });

  it("hands a failure to its own caller only; the next task still runs", async () => {
    const q = new SerialQueue();
    const failing = held<never>();
    const a = q.run(() => failing.promise);
    const b = q.run(async () => "after");
    const c = q.run(() => {
      throw new Error("sync throw");
    });
    const d = q.run(() => 4);
    failing.reject(new Error("read failed"));
    await expect(a).rejects.toThrow("read failed");
    await expect(b).resolves.toBe("after");
    await expect(c).rejects.toThrow("sync throw");
    await expect(d).resolves.toBe(4);
  });

  it("a task given while another runs waits for it, not for tasks given after it", async () => {
    const q = new SerialQueue();
    const gate = held<void>();
    const order: number[] = [];
    const runs = [1, 2, 3].map((n) =>
      q.run(async () => {
        if (n === 1) await gate.promise;
        order.push(n);
      }),
    );
    await new Promise((r) => setImmediate(r));
    expect(order).toEqual([]);
    gate.resolve();
    await Promise.all(runs);
    expect(order).toEqual([1, 2, 3]);
  });
});
