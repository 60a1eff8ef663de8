import { describe, expect, it } from "vitest";
import { soak } from "../../scripts/soak.js";

describe("soak (short CI version of npm run soak)", () => {
  it("loses no record over both APIs with 5% injected upstream failures", async () => {
    const r = await soak({ seconds: 8, rate: 30, failureRate: 0.05, basePort: 27151, log: () => {} });
    expect(r.sent).toBe(240);
    expect(r.byApi.grpc.ok + r.byApi.grpc.failed + r.byApi.http.ok + r.byApi.http.failed).toBe(240);
    // Faults were injected and mostly absorbed by failover.
    expect(r.injectedFaults).toBeGreaterThan(0);
    expect(r.byApi.grpc.ok + r.byApi.http.ok).toBeGreaterThan(200);
    expect({
      missingDecision: r.missingDecision,
      missingOutcome: r.missingOutcome,
      upstreamWithoutDecision: r.upstreamWithoutDecision,
      withoutDecisionId: r.withoutDecisionId,
    }).toEqual({
      missingDecision: [],
      missingOutcome: [],
      upstreamWithoutDecision: [],
      withoutDecisionId: 0,
    });
    expect(r.rssAfterMiB).toBeLessThan(r.rssBeforeMiB + 150);
  }, 120_000);
});
