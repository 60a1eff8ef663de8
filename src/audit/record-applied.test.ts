import { describe, expect, it } from "vitest";
import { decisionFacets } from "./decision-facets.js";
import { sampleDecisionInput, sampleDecisionV2 } from "./fixtures/records.js";
import { buildDecisionRecord, encodeRecord, validateRecord, withTenantSeq } from "./record.js";
import { type AppliedCheckRecord, appliedResults, linkChecks } from "./record-applied.js";
import { candidateColumns } from "./record-candidates.js";

const applied: AppliedCheckRecord[] = [
  { stage: "policy", rule: "residency" },
  { stage: "policy", rule: "tenant acme", check: "tenant acme: zdr" },
  { stage: "policy", rule: "tenant acme", check: "tenant acme: headquarters" },
  { stage: "filter", rule: "max_price" },
];

/** Three candidates: one passes everything, one fails residency and the tenant's zdr, one the price. */
function record() {
  const { checks, candidates } = candidateColumns([
    {
      endpoint_id: "eu/a",
      exclusions: [],
      weight_ppb: 1e9,
      unhealthy: false,
      ttft_us: null,
      tokens_per_second_milli: null,
    },
    {
      endpoint_id: "us/b",
      exclusions: [
        { stage: "policy", rule: "residency", reason: "residency: processes in us, request requires eu" },
        {
          stage: "policy",
          rule: "tenant acme",
          reason: "tenant acme: zdr: endpoint retains prompts for 30 days",
        },
        { stage: "policy", rule: "policy", reason: "policy: not allowed by any rule (fail closed)" },
      ],
      weight_ppb: 0,
      unhealthy: false,
      ttft_us: null,
      tokens_per_second_milli: null,
    },
    {
      endpoint_id: "eu/c",
      exclusions: [
        { stage: "filter", rule: "max_price", reason: "max_price: prompt price 3 > 2 USD/M tokens" },
      ],
      weight_ppb: 0,
      unhealthy: false,
      ttft_us: null,
      tokens_per_second_milli: null,
    },
  ]);
  return withTenantSeq(
    sampleDecisionV2({ checks: linkChecks(checks, applied), applied, candidates, plan: ["eu/a"] }),
    1,
  );
}

describe("applied checks in decision records", () => {
  it("links each failure to the applied check it fails, by rule and, for a tenant's rules, by reason prefix", () => {
    const r = record();
    expect(r.checks.map((c) => c.applied)).toEqual([0, 1, undefined, 3]);
    validateRecord(r);
  });

  it("states passed as well as failed, per candidate", () => {
    const [a, b, c] = appliedResults(record());
    expect(a!.checks.map((x) => [x.check, x.result])).toEqual([
      ["residency", "passed"],
      ["tenant acme: zdr", "passed"],
      ["tenant acme: headquarters", "passed"],
      ["max_price", "passed"],
    ]);
    expect(b!.checks.map((x) => [x.check, x.result])).toEqual([
      ["residency", "failed"],
      ["tenant acme: zdr", "failed"],
      ["tenant acme: headquarters", "passed"],
      ["max_price", "passed"],
      ["", "failed"],
    ]);
    expect(b!.checks[1]!.reason).toBe("tenant acme: zdr: endpoint retains prompts for 30 days");
    expect(b!.checks[4]!.reason).toMatch(/^policy: not allowed/);
    expect(c!.checks.find((x) => x.rule === "max_price")!.result).toBe("failed");
  });

  it("refuses a link to an applied check that does not exist", () => {
    const r = record();
    expect(() => validateRecord({ ...r, checks: r.checks.map((c) => ({ ...c, applied: 9 })) })).toThrow(
      /\$\.checks\[0\]\.applied: applied check 9 does not exist/,
    );
    expect(() => validateRecord({ ...r, applied: undefined })).toThrow(/applied check 0 does not exist/);
  });

  it("older records (v1, v2 without applied) still validate and state their failures only", () => {
    const v2 = withTenantSeq(sampleDecisionV2(), 1);
    expect("applied" in v2).toBe(false);
    validateRecord(v2);
    expect(appliedResults(v2)[1]!.checks).toEqual([
      {
        stage: "policy",
        rule: "residency",
        check: "",
        result: "failed",
        reason: "processes in us, request requires eu",
      },
    ]);
    const v1 = buildDecisionRecord(sampleDecisionInput());
    expect(appliedResults(v1)[1]!.checks.map((c) => c.result)).toEqual(["failed"]);
    expect(decisionFacets(v1)).toEqual(["excluded:residency"]);
  });

  it("facets: labels present, modalities, rules that excluded, checks the plan passed", () => {
    const r = { ...record(), labels: { detector: "d/1", email: "2", unmaskable: "email" } };
    expect(decisionFacets(r)).toEqual([
      "excluded:max_price",
      "excluded:policy",
      "excluded:residency",
      "excluded:tenant acme",
      "label:email",
      "modality:text",
      "passed:max_price",
      "passed:residency",
      "passed:tenant acme",
    ]);
    expect(decisionFacets({ ...r, plan: [] }).filter((f) => f.startsWith("passed:"))).toEqual([]);
  });

  it("costs bytes: 267 for four applied checks (two a tenant's) and three links", () => {
    const r = record();
    const without = encodeRecord({
      ...r,
      applied: undefined,
      checks: r.checks.map(({ applied: _, ...c }) => c),
    });
    const extra = encodeRecord(r).length - without.length;
    // Deterministic (canonical JSON); the figure docs/audit.md gives for the record's size.
    expect(extra).toBe(267);
  });
});
