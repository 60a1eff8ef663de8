import { describe, expect, it } from "vitest";
import { sampleDecisionInput, sampleDecisionV2 } from "./fixtures/records.js";
import {
  buildDecisionRecord,
  decodeRecord,
  encodeRecord,
  PLATFORM_TENANT,
  RecordFormatError,
  recordTenant,
  validateRecord,
  withTenantSeq,
} from "./record.js";
import { buildAdminRecord } from "./record-admin.js";
import { type CandidateRow, candidateColumns, candidateRows } from "./record-candidates.js";

// Ids shaped like the shipped catalog's (catalog/*.yaml: 27 endpoints, 26.7 characters on average).
const providers = [
  "mistral",
  "scaleway",
  "ovhcloud",
  "ionos",
  "aleph-alpha",
  "fireworks",
  "deepinfra",
  "aws-bedrock",
];
const models = ["llama-3.3-70b-instruct", "mistral-large", "qwen-2.5-72b", "mixtral-8x22b", "gemma-2-27b"];
const regions = ["eu", "de", "us", "fr"];

/** 50 candidates as a busy catalog yields them: most excluded by a handful of distinct checks. */
function fiftyCandidates(): Omit<CandidateRow, "eligible">[] {
  return Array.from({ length: 50 }, (_, i) => {
    const region = regions[i % regions.length]!;
    const exclusions = [];
    if (region === "us")
      exclusions.push({
        stage: "policy",
        rule: "residency",
        reason: "residency: processes in us, request requires eu",
      });
    if (i % 3 === 0)
      exclusions.push({
        stage: "policy",
        rule: "zdr",
        reason: "zdr: retains prompts for 30 days; request requires zdr",
      });
    if (i % 7 === 0)
      exclusions.push({
        stage: "filter",
        rule: "max_price",
        reason: "max_price: prompt price 3.00 exceeds 2.50 per M tokens",
      });
    if (i % 11 === 0)
      exclusions.push({
        stage: "availability",
        rule: "credentials",
        reason: "availability: no credentials configured",
      });
    return {
      endpoint_id: `${providers[i % providers.length]}/${models[i % models.length]}-${region}`,
      exclusions,
      weight_ppb: exclusions.length === 0 ? 1_000_000_000 - i * 12_345_678 : 0,
      unhealthy: i === 17,
      // The router records performance for eligible candidates only (excluded ones do not count).
      ttft_us: exclusions.length === 0 ? 150_000 + i * 4_321 : null,
      tokens_per_second_milli: exclusions.length === 0 ? 48_000 + i * 1_234 : null,
    };
  });
}

describe("record format v2: decisions", () => {
  it("keeps a 50-candidate decision record within 4 KB encoded", () => {
    const rows = fiftyCandidates();
    const { checks, candidates } = candidateColumns(rows);
    const record = withTenantSeq(
      sampleDecisionV2({
        checks,
        candidates,
        plan: rows
          .filter((r) => r.exclusions.length === 0)
          .map((r) => r.endpoint_id)
          .slice(0, 8),
      }),
      123_456,
    );
    const ids = record.candidates.endpoint_id;
    expect(ids.join("").length / ids.length).toBeGreaterThan(26);
    validateRecord(record);
    const bytes = encodeRecord(record);
    expect(bytes.length).toBeLessThanOrEqual(4096);
    // The same decision in v1's one-object-per-candidate form would not fit.
    const v1 = buildDecisionRecord(
      sampleDecisionInput({
        candidates: candidateRows(record).map((r) => ({ ...r, model: "mistralai/mistral-large" })),
      }),
    );
    expect(encodeRecord(v1).length).toBeGreaterThan(4096);
  });

  it("lists each distinct check once; rows read back exactly as given", () => {
    const rows = fiftyCandidates();
    const { checks, candidates } = candidateColumns(rows);
    expect(checks.map((c) => c.rule)).toEqual(["zdr", "max_price", "credentials", "residency"]);
    const record = withTenantSeq(sampleDecisionV2({ checks, candidates }), 1);
    expect(candidateRows(record)).toEqual(rows.map((r) => ({ ...r, eligible: r.exclusions.length === 0 })));
  });

  it("refuses columns of different lengths, unknown checks, weights of excluded candidates", () => {
    const base = withTenantSeq(sampleDecisionV2(), 1);
    const c = base.candidates;
    expect(() => validateRecord({ ...base, candidates: { ...c, weight_ppb: [1] } })).toThrow(
      /\$\.candidates\.weight_ppb: has 1 entries for 2 candidates/,
    );
    expect(() => validateRecord({ ...base, candidates: { ...c, exclusions: [[], [5]] } })).toThrow(
      /\$\.candidates\.exclusions\[1\]\[0\]: check 5 does not exist/,
    );
    expect(() => validateRecord({ ...base, candidates: { ...c, weight_ppb: [1_000_000_000, 7] } })).toThrow(
      /\$\.candidates\.weight_ppb\[1\]: an excluded candidate has no weight/,
    );
    expect(() => validateRecord({ ...base, candidates: { ...c, unhealthy: [1, 0] } })).toThrow(
      /\$\.candidates\.unhealthy\[1\]/,
    );
    expect(() => validateRecord({ ...base, caller: { kind: "root", subject: "", key_id: "" } })).toThrow(
      /\$\.caller\.kind/,
    );
    expect(() => validateRecord({ ...base, request: { ...base.request, modalities: ["smell"] } })).toThrow(
      /\$\.request\.modalities\[0\]/,
    );
    const { shard: _s, ...noShard } = base;
    expect(() => validateRecord(noShard)).toThrow(/\$\.shard/);
    expect(() => validateRecord({ ...base, model_attributes: {} })).toThrow(RecordFormatError);
    expect(() => validateRecord({ ...base, checks: [{ stage: "vibes", rule: "x", reason: "y" }] })).toThrow(
      /\$\.checks\[0\]\.stage/,
    );
  });
});

describe("record format v2: admin records", () => {
  const caller = { kind: "api_key" as const, subject: "ops", key_id: "k_admin" };
  const principal = { tenant: "_platform", workload: "ops", roles: ["operator"] };

  it("build, sign as v2 and decode with their tenant and event id", () => {
    const a = buildAdminRecord({
      tenant: PLATFORM_TENANT,
      router: "router-a",
      caller,
      principal,
      action: "catalog.apply",
      target: { catalog_revision: "c".repeat(64) },
    });
    const signed = withTenantSeq(a, 4);
    expect(validateRecord(signed)).toEqual(signed);
    const header = decodeRecord(encodeRecord(signed));
    expect(header.kind).toBe("admin");
    expect(recordTenant(header)).toBe("_platform");
    const approve = buildAdminRecord({
      tenant: "acme",
      router: "router-a",
      caller,
      principal,
      action: "byok.approve_origins",
      target: { provider: "mistral", origins: ["https://api.mistral.ai"] },
    });
    expect(decodeRecord(encodeRecord(withTenantSeq(approve, 1))).tenant).toBe("acme");
  });

  it("refuses a target the action does not name, a missing one, secrets and v1", () => {
    const input = {
      tenant: "acme",
      router: "r",
      caller,
      principal,
      action: "key.create" as const,
      target: { key_id: "k1" },
    };
    expect(() => buildAdminRecord({ ...input, target: {} })).toThrow(
      /\$\.target\.key_id: required by key\.create/,
    );
    expect(() => buildAdminRecord({ ...input, target: { key_id: "k1", provider: "p" } })).toThrow(
      /\$\.target\.provider: not part of key\.create/,
    );
    expect(() =>
      buildAdminRecord({ ...input, target: { key_id: "k1", secret: "sk-live" } as { key_id: string } }),
    ).toThrow(/\$\.target/);
    expect(() => buildAdminRecord({ ...input, action: "key.rotate" as "key.create" })).toThrow(/\$\.action/);
    const signed = withTenantSeq(buildAdminRecord(input), 1);
    const enc = (r: object) => new TextEncoder().encode(JSON.stringify(r, Object.keys(r).sort()));
    expect(() => decodeRecord(enc({ ...signed, v: 1, tenant_seq: undefined }))).toThrow(/kind/);
    expect(() => decodeRecord(encodeRecord({ ...signed, event_id: "x" }))).toThrow(
      /\$\.event_id: not a UUIDv7/,
    );
  });
});
