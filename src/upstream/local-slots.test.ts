import { describe, expect, it } from "vitest";
import { UpstreamError } from "./errors.js";
import { SlotPool } from "./local-slots.js";

describe("SlotPool", () => {
  it("hands a released slot to the longest waiter, in order", async () => {
    const pool = new SlotPool(["a"], 60_000);
    const a = await pool.acquire();
    const order: string[] = [];
    const w1 = pool.acquire().then((s) => order.push(`1:${s}`));
    const w2 = pool.acquire().then((s) => order.push(`2:${s}`));
    pool.release(a);
    await w1;
    pool.release("a");
    await w2;
    expect(order).toEqual(["1:a", "2:a"]);
  });

  it("refuses local_saturated when the wait bound passes, aborted when the caller leaves", async () => {
    const pool = new SlotPool(["a"], 1);
    await pool.acquire();
    const err = await pool.acquire().catch((e: unknown) => e);
    expect((err as UpstreamError).errorClass).toBe("local_saturated");
    const slow = new SlotPool(["a"], 60_000);
    await slow.acquire();
    const ac = new AbortController();
    const waiting = slow.acquire(ac.signal).catch((e: unknown) => e);
    ac.abort();
    expect(((await waiting) as UpstreamError).errorClass).toBe("aborted");
    expect(err).toBeInstanceOf(UpstreamError);
  });
});
