import { describe, expect, it } from "vitest";
import { sampleDecisionV2 } from "./fixtures/records.js";
import { decodeRecord, encodeRecord, validateRecord } from "./record.js";

/** The decision record's caller with workload identity (kind jwt / mtls, selected claims). */
describe("record v2 caller", () => {
  const numbered = (caller: unknown) => ({ ...sampleDecisionV2({ caller: caller as never }), tenant_seq: 1 });

  it("takes a JWT or certificate caller with its claims, and round-trips it", () => {
    for (const caller of [
      {
        kind: "jwt",
        subject: "search-bot",
        key_id: "",
        claims: { iss: "https://idp.example", team: "search" },
      },
      {
        kind: "mtls",
        subject: "spiffe://example.org/ns/acme/sa/bot",
        key_id: "",
        claims: { cert_sha256: "AB:CD" },
      },
    ]) {
      const record = numbered(caller);
      validateRecord(record);
      expect(decodeRecord(encodeRecord(record))).toMatchObject({ caller });
    }
  });

  it("keeps validating callers written before claims existed", () => {
    validateRecord(numbered({ kind: "api_key", subject: "support-bot", key_id: "k_01JD5XW0S8Q2" }));
    validateRecord(numbered({ kind: "anonymous", subject: "", key_id: "" }));
  });

  it("refuses claims that are not strings, an unknown kind and unknown fields (no token slips in)", () => {
    expect(() =>
      validateRecord(numbered({ kind: "jwt", subject: "s", key_id: "", claims: { n: 1 } })),
    ).toThrow();
    expect(() => validateRecord(numbered({ kind: "oauth", subject: "s", key_id: "" }))).toThrow();
    expect(() => validateRecord(numbered({ kind: "jwt", subject: "s", key_id: "", token: "eyJ" }))).toThrow();
  });
});
