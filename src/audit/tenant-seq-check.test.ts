import { describe, expect, it } from "vitest";
import { TenantSeqCheck } from "./tenant-seq-check.js";

describe("TenantSeqCheck", () => {
  it("accepts each tenant's numbers 1, 2, 3 … interleaved, and counts v1 records apart", () => {
    const c = new TenantSeqCheck(true);
    for (const [tenant, n] of [
      ["ta", 1],
      ["tb", 1],
      ["ta", undefined],
      ["ta", 2],
      ["tb", 2],
      ["ta", 3],
    ] as const)
      expect(c.next(tenant, n)).toBeUndefined();
    expect(c.ranges()).toEqual(
      new Map([
        ["ta", { first: 1, last: 3 }],
        ["tb", { first: 1, last: 2 }],
      ]),
    );
    expect(c.unsequenced).toBe(1);
  });

  it("names the first missing number, from 1 when the records start at the log's beginning", () => {
    const c = new TenantSeqCheck(true);
    expect(c.next("ta", 2)).toEqual({
      missing: 1,
      what: "tenant_seq 1 of tenant ta is missing (the next record of the tenant has tenant_seq 2)",
    });
    const d = new TenantSeqCheck(true);
    d.next("ta", 1);
    expect(d.next("ta", 5)?.missing).toBe(2);
    expect(d.next("ta", 1)).toEqual({
      what: "tenant_seq 1 of tenant ta repeats or is out of order (expected 2)",
    });
  });

  it("starts wherever the first record stands when the records start later in the log", () => {
    const c = new TenantSeqCheck(false);
    expect(c.next("ta", 41)).toBeUndefined();
    expect(c.next("ta", 42)).toBeUndefined();
    expect(c.next("ta", 44)?.missing).toBe(43);
  });
});
