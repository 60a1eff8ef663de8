import { describe, expect, it } from "vitest";
import { outcomeInput, sampleDecisionInput } from "../../test/audit/fixtures.js";
import { canonicalize } from "./canonical-json.js";
import {
  buildDecisionRecord,
  buildOutcomeRecord,
  decodeRecord,
  encodeRecord,
  RecordFormatError,
  usdToMicro,
  validateRecord,
} from "./record.js";
import { isUuidv7, uuidv7Time } from "./uuidv7.js";

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
    expect(() => decodeRecord(enc(canonical.replace('"v":1', '"v":2')))).toThrow(/version/);
  });

  it("accepts fields added later within v1 (the verifier checks form, not the full schema)", () => {
    const extended = { ...r, zz_new_field: [1, 2] };
    expect(decodeRecord(enc(canonicalize(extended)))).toEqual(extended);
    expect(() => validateRecord(extended)).toThrow(/zz_new_field|Unrecognized/);
  });
});
