import { describe, expect, it } from "vitest";
import { canonicalize, isUuidv7, uuidv7Time } from "../encoding/index.js";
import { outcomeInput, sampleDecisionInput, sampleDecisionV2 } from "./fixtures/records.js";
import {
  buildDecisionRecord,
  buildOutcomeRecord,
  decodeRecord,
  encodeRecord,
  encodeSequenced,
  RECORD_FORMAT_VERSION,
  RecordFormatError,
  recordTenant,
  usdToMicro,
  validateRecord,
  withTenantSeq,
} from "./record.js";

describe("decision records", () => {
  it("fills v, kind, a UUIDv7 of the decision time, and the time", () => {
    const r = buildDecisionRecord(sampleDecisionInput());
    expect(r.v).toBe(1);
    expect(r.kind).toBe("decision");
    expect(isUuidv7(r.decision_id)).toBe(true);
    expect(Math.abs(r.time_us - Date.now() * 1000)).toBeLessThan(5_000_000);
    expect(Math.abs(uuidv7Time(r.decision_id) - r.time_us / 1000)).toBeLessThan(1000);
  });

  it("encodes to canonical, integers-only bytes that decode to the same record", () => {
    const r = buildDecisionRecord(sampleDecisionInput({ time_us: 1_763_780_000_123_456 }));
    const bytes = encodeRecord(r);
    const text = new TextDecoder().decode(bytes);
    expect(text).toBe(canonicalize(r));
    expect(
      text.startsWith(
        '{"candidates":[{"eligible":true,"endpoint_id":"mistral/mistral-large-eu","exclusions":[],',
      ),
    ).toBe(true);
    expect(text).toContain('"seed":"18446744073709551615"');
    expect(decodeRecord(bytes)).toEqual(r);
    expect(validateRecord(JSON.parse(text))).toEqual(r);
  });

  it("refuses unknown fields (nothing lands in a record by accident), bad ids and fractions", () => {
    const withMessages = sampleDecisionInput();
    (withMessages.request as unknown as Record<string, unknown>).messages = [
      { role: "user", content: "secret" },
    ];
    expect(() => buildDecisionRecord(withMessages)).toThrow(RecordFormatError);
    expect(() => buildDecisionRecord(withMessages)).toThrow(/\$\.request/);
    expect(() => buildDecisionRecord(sampleDecisionInput({ decision_id: "not-a-uuid" }))).toThrow(
      /decision_id/,
    );
    expect(() => buildDecisionRecord(sampleDecisionInput({ time_us: 1.5 }))).toThrow(/time_us/);
    expect(() => buildDecisionRecord(sampleDecisionInput({ seed: "0x10" }))).toThrow(/seed/);
    const fractional = sampleDecisionInput();
    fractional.request.provider = { max_price: { prompt: 2.5 } };
    expect(() => buildDecisionRecord(fractional)).toThrow(/2\.5 is not a safe integer/);
  });

  it("converts USD to micro-USD", () => {
    expect(usdToMicro(0.15)).toBe(150_000);
    expect(usdToMicro(0.000001)).toBe(1);
    expect(() => usdToMicro(Number.NaN)).toThrow(RangeError);
  });
});

describe("outcome records", () => {
  it("build, encode and decode", () => {
    const d = buildDecisionRecord(sampleDecisionInput());
    const o = buildOutcomeRecord(outcomeInput(d.decision_id));
    expect(o.kind).toBe("outcome");
    expect(decodeRecord(encodeRecord(o))).toEqual(o);
  });

  it("refuse a fractional cost, an unknown outcome and a fractional status", () => {
    const d = buildDecisionRecord(sampleDecisionInput());
    expect(() => buildOutcomeRecord({ ...outcomeInput(d.decision_id), cost_micro_usd: 0.5 })).toThrow(
      /cost_micro_usd/,
    );
    expect(() =>
      buildOutcomeRecord({ ...outcomeInput(d.decision_id), outcome: "maybe" as "success" }),
    ).toThrow(/\$\.outcome/);
    const bad = outcomeInput(d.decision_id);
    bad.attempts[0]!.status = 200.5;
    expect(() => buildOutcomeRecord(bad)).toThrow(/attempts\[0\]\.status/);
  });

  it("encodeRecord refuses non-integers even without validation", () => {
    const d = buildDecisionRecord(sampleDecisionInput());
    expect(() => encodeRecord({ ...d, time_us: 0.5 })).toThrow(/\$\.time_us: 0\.5/);
  });
});

describe("decodeRecord (what a verifier accepts)", () => {
  const r = buildDecisionRecord(sampleDecisionInput());
  const canonical = canonicalize(r);
  const enc = (s: string) => new TextEncoder().encode(s);

  it("rejects non-canonical forms of the same record", () => {
    expect(() => decodeRecord(enc(JSON.stringify(r, null, 1)))).toThrow(/canonical/);
    expect(() => decodeRecord(enc(`${canonical}\n`))).toThrow(/canonical/);
    expect(() => decodeRecord(enc(canonical.replace('"v":1', '"v":1.0')))).toThrow(/canonical/);
    expect(() => decodeRecord(enc(canonical.replace('"v":1', '"v":1e0')))).toThrow(/canonical/);
    // A duplicate key: JSON.parse keeps the last, so the re-encoding differs.
    expect(() =>
      decodeRecord(enc(canonical.replace('{"candidates"', '{"candidates":[],"candidates"'))),
    ).toThrow(/canonical/);
  });

  it("rejects invalid UTF-8, non-JSON, fractions and non-records", () => {
    expect(() => decodeRecord(Uint8Array.of(0x7b, 0xff, 0x7d))).toThrow("not UTF-8");
    expect(() => decodeRecord(enc(canonical.slice(1)))).toThrow("not JSON");
    expect(() => decodeRecord(enc(canonical.replace('"message_count":3', '"message_count":3.5')))).toThrow(
      /integers only/,
    );
    expect(() => decodeRecord(enc("[1]"))).toThrow(/object/);
    expect(() => decodeRecord(enc('{"kind":"note","v":1}'))).toThrow(/kind/);
    expect(() => decodeRecord(enc(canonical.replace('"v":1', '"v":3')))).toThrow(/version/);
  });

  it("accepts fields added later within v1 (the verifier checks form, not the full schema)", () => {
    const extended = { ...r, zz_new_field: [1, 2] };
    expect(decodeRecord(enc(canonicalize(extended)))).toEqual(extended);
    expect(() => validateRecord(extended)).toThrow(/zz_new_field|Unrecognized/);
  });
});

describe("record format v2: tenant_seq", () => {
  const enc = (s: string) => new TextEncoder().encode(s);
  const decision = buildDecisionRecord(sampleDecisionInput({ time_us: 1_763_780_000_123_456 }));
  const outcome = buildOutcomeRecord(outcomeInput(decision.decision_id));
  const decisionV2 = sampleDecisionV2({ time_us: 1_763_780_000_123_456 });

  it("numbers outcomes (v1 plus v = 2, tenant and tenant_seq); withTenantSeq adds only the two", () => {
    expect(RECORD_FORMAT_VERSION).toBe(2);
    const o = buildOutcomeRecord({ ...outcomeInput(decision.decision_id), tenant: "acme", tenant_seq: 8 });
    expect(o).toMatchObject({ v: 2, tenant: "acme", tenant_seq: 8 });
    const { v: _v, tenant_seq: _s, ...rest } = withTenantSeq(decision, 3);
    const { v: _v1, ...restV1 } = decision;
    expect(rest).toEqual(restV1);
  });

  it("encodes the number into the signed bytes and decodes it back", () => {
    const d = withTenantSeq(decisionV2, 42);
    const text = new TextDecoder().decode(encodeRecord(d));
    expect(text).toContain('"tenant_seq":42');
    expect(text).toContain('"v":2');
    expect(decodeRecord(encodeRecord(d))).toEqual(d);
    expect(validateRecord(JSON.parse(text))).toEqual(d);
    const o = withTenantSeq({ ...outcome, tenant: "acme" }, 43);
    expect(decodeRecord(encodeRecord(o))).toEqual(o);
    expect(recordTenant(decodeRecord(encodeRecord(o)))).toBe("acme");
    expect(recordTenant(decodeRecord(encodeRecord(d)))).toBe("acme");
  });

  it("encodeSequenced writes the bytes of encodeRecord(withTenantSeq(…)) without copying the record", () => {
    for (const r of [decision, decisionV2, { ...outcome, tenant: "acme" }]) {
      for (const n of [1, 2, 9007199254740991]) {
        expect(
          Buffer.from(encodeSequenced(r, n)).equals(Buffer.from(encodeRecord(withTenantSeq(r, n)))),
        ).toBe(true);
      }
      expect("tenant_seq" in r && r.v !== 2).toBe(false);
    }
    expect(() => encodeSequenced(decision, 1.5)).toThrow(RecordFormatError);
    expect(() => encodeSequenced({ ...outcome, cost_micro_usd: 0.5 }, 1)).toThrow(
      /\$\.cost_micro_usd: 0\.5 is not a safe integer/,
    );
  });

  it("validates strictly: v2 needs tenant_seq ≥ 1, an outcome its tenant; v1 must not carry one", () => {
    expect(() => validateRecord({ ...decisionV2, v: 2 })).toThrow(/\$\.tenant_seq/);
    expect(() => validateRecord({ ...decisionV2, tenant_seq: 0 })).toThrow(/tenant_seq: must be at least 1/);
    expect(() => validateRecord({ ...decisionV2, tenant_seq: 1.5 })).toThrow(/tenant_seq/);
    expect(() => validateRecord({ ...outcome, v: 2, tenant_seq: 1 })).toThrow(/\$\.tenant/);
    expect(() => validateRecord({ ...decision, tenant_seq: 1 })).toThrow(/tenant_seq|Unrecognized/);
    expect(() => validateRecord({ ...outcome, tenant: "acme" })).toThrow(/tenant|Unrecognized/);
    expect(() => validateRecord({ ...decision, v: 3 })).toThrow(/\$\.v: unsupported record version 3/);
    // A v1-shaped record is not a v2 one: v2's fields are required.
    expect(() => validateRecord({ ...decision, v: 2, tenant_seq: 1 })).toThrow(RecordFormatError);
  });

  it("decodes as a verifier must: v2 without a number or an outcome without a tenant is refused", () => {
    const v2 = (r: object) => enc(canonicalize(r));
    expect(() => decodeRecord(v2({ ...decisionV2, v: 2 }))).toThrow(/\$\.tenant_seq: missing/);
    expect(() => decodeRecord(v2({ ...decisionV2, tenant_seq: 0 }))).toThrow(/tenant_seq/);
    expect(() => decodeRecord(v2({ ...outcome, v: 2, tenant_seq: 5 }))).toThrow(/\$\.tenant: missing/);
    expect(() => decodeRecord(v2({ ...decision, tenant_seq: 5 }))).toThrow(/only v2 records/);
  });

  it("still accepts v1 records, as existing logs hold them", () => {
    expect(decision.v).toBe(1);
    expect(outcome.v).toBe(1);
    expect(decodeRecord(encodeRecord(decision))).toEqual(decision);
    expect(decodeRecord(encodeRecord(outcome))).toEqual(outcome);
    expect(validateRecord(JSON.parse(canonicalize(outcome)))).toEqual(outcome);
  });
});
