import { describe, expect, it } from "vitest";
import { pooledRandomBytes } from "./random-pool.js";

describe("pooledRandomBytes", () => {
  it("hands out fresh bytes of the asked length across pool refills, never the same twice", () => {
    const seen = new Set<string>();
    for (let i = 0; i < 2_000; i++) {
      const b = pooledRandomBytes(16);
      expect(b.length).toBe(16);
      seen.add(b.toString("hex"));
    }
    expect(seen.size).toBe(2_000);
  });

  it("returns copies: changing one does not change the next", () => {
    const a = pooledRandomBytes(8);
    a.fill(0);
    expect(pooledRandomBytes(8).equals(Buffer.alloc(8))).toBe(false);
  });

  it("refuses requests larger than it is meant for", () => {
    expect(() => pooledRandomBytes(257)).toThrow(RangeError);
  });
});
