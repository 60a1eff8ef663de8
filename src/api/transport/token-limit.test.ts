import { describe, expect, it } from "vitest";
import type { RateLimitSettings } from "../../config/index.js";
import { RateLimitedError } from "./rate-limit.js";
import { TokenLimiter } from "./token-limit.js";

const OFF: RateLimitSettings = {
  keyRps: 0,
  keyBurst: 1,
  tenantRps: 0,
  tenantBurst: 1,
  maxConcurrentPerKey: 0,
  maxConcurrentPerTenant: 0,
};
const A = { keyId: "a", tenant: "t" };

function clock() {
  const c = { ms: 0, now: () => c.ms };
  return c;
}

function refusal(fn: () => unknown): RateLimitedError {
  try {
    fn();
  } catch (err) {
    if (err instanceof RateLimitedError) return err;
    throw err;
  }
  throw new Error("expected a RateLimitedError");
}

describe("TokenLimiter (tokens per minute, fake clock)", () => {
  it("charges the estimate, refuses what does not fit naming the limit, and settles to the actual usage", () => {
    const c = clock();
    const tl = new TokenLimiter({ ...OFF, keyTpm: 6000 }, { now: c.now });
    const first = tl.charge(A, 4000);
    expect(tl.available("key", "a")).toBe(2000);
    const e = refusal(() => tl.charge(A, 3000));
    expect(e).toMatchObject({ scope: "key", kind: "tokens", retryAfterSeconds: 10 });
    expect(e.message).toContain("token limit of this API key exceeded (6000 tokens per minute)");
    expect(e.metadata.get("retry-after")).toBe("10");
    // A refused call charged nothing.
    expect(tl.available("key", "a")).toBe(2000);
    // The call used 100 tokens, not 4000: the difference comes back at once.
    first.settle(100);
    first.settle(0); // once only
    expect(tl.available("key", "a")).toBe(5900);
    tl.charge(A, 3000).settle(3000);
    expect(tl.available("key", "a")).toBe(2900);
    // Refills at 100 tokens per second, never beyond one minute's worth.
    c.ms += 5000;
    expect(tl.available("key", "a")).toBe(3400);
    c.ms += 600_000;
    expect(tl.available("key", "a")).toBe(6000);
  });

  it("takes a usage beyond the estimate as a debt the next calls wait for", () => {
    const c = clock();
    const tl = new TokenLimiter({ ...OFF, keyTpm: 600 }, { now: c.now });
    tl.charge(A, 100).settle(1000);
    expect(tl.available("key", "a")).toBe(-400);
    expect(refusal(() => tl.charge(A, 10)).retryAfterSeconds).toBe(41);
    c.ms += 41_000;
    tl.charge(A, 10);
  });

  it("admits an estimate beyond a minute's tokens only on a full bucket", () => {
    const tl = new TokenLimiter({ ...OFF, keyTpm: 1000 }, { now: () => 0 });
    const big = tl.charge(A, 5000);
    expect(refusal(() => tl.charge(A, 5000)).kind).toBe("tokens");
    big.settle(0);
    tl.charge(A, 5000);
  });

  it("shares a tenant's bucket across its keys; another tenant is apart; both limits are checked before either is charged", () => {
    const tl = new TokenLimiter({ ...OFF, keyTpm: 5000, tenantTpm: 8000 }, { now: () => 0 });
    tl.charge({ keyId: "a", tenant: "t" }, 5000);
    const e = refusal(() => tl.charge({ keyId: "b", tenant: "t" }, 4000));
    expect(e).toMatchObject({ scope: "tenant", kind: "tokens" });
    expect(e.message).toContain("token limit of this tenant exceeded (8000 tokens per minute)");
    expect(tl.available("key", "b")).toBe(5000);
    tl.charge({ keyId: "c", tenant: "u" }, 4000);
    tl.charge({ keyId: "b", tenant: "t" }, 3000);
  });

  it("is off without a limit, and keeps memory bounded", () => {
    expect(new TokenLimiter(OFF).enabled).toBe(false);
    const tl = new TokenLimiter({ ...OFF, keyTpm: 100 }, { now: () => 0, maxEntries: 3 });
    for (let i = 0; i < 10; i++) tl.charge({ keyId: `k${i}`, tenant: "t" }, 50);
    expect(tl.available("key", "k9")).toBe(50);
    expect(tl.available("key", "k0")).toBe(100); // dropped: a fresh bucket
  });
});
