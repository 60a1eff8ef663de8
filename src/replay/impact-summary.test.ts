import { describe, expect, it } from "vitest";
import { ImpactTally } from "./impact-summary.js";
import { sampleThreshold } from "./policy-impact.js";
import { type DecisionChanges, describeChange, sameVerdict, type Verdict } from "./verdicts.js";

const eligible: Verdict = { eligible: true, exclusions: [] };
const excluded = (...rules: string[]): Verdict => ({
  eligible: false,
  exclusions: rules.map((rule) => ({ stage: "policy", rule, reason: `${rule}: no` })),
});
const changes = (candidates: DecisionChanges["candidates"], planChanged = true): DecisionChanges => ({
  candidates,
  planChanged,
  obligationsChanged: false,
});

describe("verdicts", () => {
  it("are equal by eligibility and the set of (stage, rule), not by reason text or order", () => {
    const a = excluded("zdr", "residency");
    const b: Verdict = {
      eligible: false,
      exclusions: [
        { stage: "policy", rule: "residency", reason: "reworded" },
        { stage: "policy", rule: "zdr", reason: "zdr: no" },
      ],
    };
    expect(sameVerdict(a, b)).toBe(true);
    expect(sameVerdict(a, excluded("zdr"))).toBe(false);
    expect(sameVerdict(eligible, excluded())).toBe(false);
    expect(
      sameVerdict(excluded("zdr"), {
        eligible: false,
        exclusions: [{ stage: "filter", rule: "zdr", reason: "" }],
      }),
    ).toBe(false);
  });

  it("describe a change before → after", () => {
    expect(describeChange({ endpointId: "e", before: eligible, after: excluded("bar") })).toBe(
      'e: eligible → excluded by policy:bar ("bar: no")',
    );
    expect(describeChange({ endpointId: "e", after: eligible })).toBe("e: not a candidate → eligible");
  });
});

describe("ImpactTally", () => {
  it("counts flips each way, per rule (candidates and decisions), tenant and endpoint, with examples", () => {
    const t = new ImpactTally();
    t.add({
      decisionId: "d1",
      tenant: "a",
      allowedBefore: true,
      allowedAfter: false,
      changes: changes([{ endpointId: "eu", before: eligible, after: excluded("bar_eu") }]),
    });
    t.add({
      decisionId: "d2",
      tenant: "b",
      allowedBefore: false,
      allowedAfter: true,
      changes: changes([
        { endpointId: "us", before: excluded("bar_us"), after: eligible },
        { endpointId: "eu", before: excluded("residency"), after: excluded("residency", "bar_eu") },
      ]),
    });
    t.add({
      decisionId: "d3",
      tenant: "a",
      allowedBefore: true,
      allowedAfter: true,
      changes: changes([], false),
    });
    t.error("d4", "b");
    t.unavailable();
    const s = t.summary();
    expect(s).toMatchObject({
      replayed: 4,
      unchanged: 1,
      allowedToDenied: 1,
      deniedToAllowed: 1,
      otherwiseChanged: 0,
      errors: 1,
      unavailable: 1,
      truncated: false,
      examples: { allowedToDenied: ["d1"], deniedToAllowed: ["d2"], otherwiseChanged: [], errors: ["d4"] },
    });
    expect(s.rules).toEqual([
      {
        stage: "policy",
        rule: "bar_eu",
        newlyExcluded: 2,
        noLongerExcluded: 0,
        allowedToDenied: 1,
        deniedToAllowed: 0,
        examples: ["d1", "d2"],
      },
      {
        stage: "policy",
        rule: "bar_us",
        newlyExcluded: 0,
        noLongerExcluded: 1,
        allowedToDenied: 0,
        deniedToAllowed: 1,
        examples: ["d2"],
      },
    ]);
    expect(s.tenants).toEqual([
      { tenant: "b", replayed: 2, changed: 2, allowedToDenied: 0, deniedToAllowed: 1 },
      { tenant: "a", replayed: 2, changed: 1, allowedToDenied: 1, deniedToAllowed: 0 },
    ]);
    // eu in d2 stayed excluded (another rule joined): its eligibility did not change.
    expect(s.endpoints).toEqual([
      { endpointId: "eu", becameIneligible: 1, becameEligible: 0, examples: ["d1"] },
      { endpointId: "us", becameIneligible: 0, becameEligible: 1, examples: ["d2"] },
    ]);
  });

  it("keeps five examples", () => {
    const t = new ImpactTally();
    for (let i = 0; i < 8; i++)
      t.add({
        decisionId: `d${i}`,
        tenant: "a",
        allowedBefore: true,
        allowedAfter: true,
        changes: changes([]),
      });
    expect(t.summary().examples.otherwiseChanged).toEqual(["d0", "d1", "d2", "d3", "d4"]);
    expect(t.summary().otherwiseChanged).toBe(8);
  });
});

describe("sampleThreshold", () => {
  it("is the fraction of 0x10000 in four hex digits; none at 1", () => {
    expect(sampleThreshold(1)).toBeUndefined();
    expect(sampleThreshold(0.5)).toBe("8000");
    expect(sampleThreshold(0.1)).toBe("199a");
    expect(sampleThreshold(1 / 0x10000)).toBe("0001");
  });
});
