import { describe, expect, it } from "vitest";
import { type DsseEnvelope, entryLeafHash, signEnvelope } from "./dsse.js";
import { outcomeInput, sampleDecisionV2 } from "./fixtures/records.js";
import { generateSigningKey, KeyRing } from "./keys.js";
import { encodeReceipt, parseReceipt, receiptIssuer, verifyReceipt } from "./receipt.js";
import { buildOutcomeRecord, encodeRecord, withTenantSeq } from "./record.js";

const ORIGIN = "sovr.example.com/audit";
const key = generateSigningKey();
const ring = new KeyRing([
  { keyId: key.keyId, publicKeyRaw: key.publicKeyRaw, validFromUs: 0, validUntilUs: null },
]);
const trusted = { ring, origin: ORIGIN };

const decision = withTenantSeq(sampleDecisionV2(), 1);
const envelope = signEnvelope(encodeRecord(decision), key);
const entry = { seq: 41, leafHash: entryLeafHash(envelope), envelope };
const issue = receiptIssuer(ORIGIN);
const receipt = issue(decision.decision_id, entry);

/** `receipt` with one dot-separated part replaced. */
const withPart = (i: number, value: string) =>
  receipt
    .split(".")
    .map((p, j) => (j === i ? value : p))
    .join(".");

describe("receipts", () => {
  it("encode the decision, seq, key, leaf hash, the record's own signature and the origin in header-safe text", () => {
    expect(receipt).toMatch(
      /^v1\.[0-9a-f-]{36}\.41\.[0-9a-f]{16}\.[A-Za-z0-9_-]{43}\.[A-Za-z0-9_-]{86}\.[A-Za-z0-9_-]+$/,
    );
    const r = parseReceipt(receipt);
    expect(r).toMatchObject({ decisionId: decision.decision_id, seq: 41, keyId: key.keyId, origin: ORIGIN });
    expect(Buffer.from(r.leafHash)).toEqual(Buffer.from(entry.leafHash));
    // Not a new signature: the envelope's, byte for byte.
    expect(Buffer.from(r.signature).toString("base64")).toBe(envelope.signatures[0]!.sig);
    expect(encodeReceipt(r)).toBe(receipt);
    // No content: nothing of the record but its id.
    expect(receipt).not.toContain("mistral");
  });

  it("verify against the record and the pinned keys", () => {
    const v = verifyReceipt(receipt, { envelope, seq: 41 }, trusted);
    expect(v).toMatchObject({ ok: true, record: { decision_id: decision.decision_id } });
    expect(verifyReceipt(receipt, { envelope }, { ring }).ok).toBe(true);
  });

  it("fail, naming why, when tampered with, for another record, another log or unpinned keys", () => {
    const fails = (
      r: string,
      e: { envelope: DsseEnvelope; seq?: number } = { envelope, seq: 41 },
      t: { ring: KeyRing; origin?: string } = trusted,
    ) => {
      const v = verifyReceipt(r, e, t);
      expect(v.ok, r).toBe(false);
      return v.ok ? "" : v.what;
    };
    // One character of the signature changed.
    const sig = receipt.split(".")[5]!;
    const flipped = `${sig[0] === "A" ? "B" : "A"}${sig.slice(1)}`;
    expect(fails(withPart(5, flipped))).toBe("receipt: its signature is not the record's signature");
    // Another leaf hash, decision id, seq, origin.
    expect(fails(withPart(4, Buffer.alloc(32, 7).toString("base64url")))).toMatch(
      /leaf hash is not the record's/,
    );
    const other = withTenantSeq(sampleDecisionV2(), 2);
    expect(fails(withPart(1, other.decision_id))).toMatch(/names decision .*, the record is another/);
    expect(fails(withPart(2, "42"))).toBe("receipt: names seq 42, the record is entry 41");
    expect(fails(withPart(6, Buffer.from("evil.example/audit").toString("base64url")))).toMatch(
      /origin "evil.example\/audit" is not the pinned origin/,
    );
    // The record altered (re-signed by another key) or another record.
    const stranger = generateSigningKey();
    expect(fails(receipt, { envelope: signEnvelope(encodeRecord(decision), stranger) })).toMatch(
      /signed by unknown key/,
    );
    const otherEnvelope = signEnvelope(encodeRecord(other), key);
    expect(fails(receipt, { envelope: otherEnvelope })).toBe(
      "receipt: its signature is not the record's signature",
    );
    // Keys pinned from another log.
    const strangerRing = new KeyRing([
      { keyId: stranger.keyId, publicKeyRaw: stranger.publicKeyRaw, validFromUs: 0, validUntilUs: null },
    ]);
    expect(fails(receipt, { envelope }, { ring: strangerRing })).toMatch(/not among the trusted keys/);
    // A receipt of an outcome record is not a decision's.
    const outcome = buildOutcomeRecord(outcomeInput(decision.decision_id));
    const oEnv = signEnvelope(encodeRecord(outcome), key);
    const oReceipt = issue(decision.decision_id, { seq: 3, leafHash: entryLeafHash(oEnv), envelope: oEnv });
    expect(fails(oReceipt, { envelope: oEnv })).toMatch(/the record is another/);
  });

  it("are parsed strictly, naming the part at fault", () => {
    const bad: [string, RegExp][] = [
      ["", /start with "v1\."/],
      ["v2.x", /start with "v1\."/],
      [`${receipt}.x`, /7 dot-separated parts/],
      [receipt.split(".").slice(0, 6).join("."), /7 dot-separated parts/],
      [withPart(1, "not-a-uuid"), /decision id/],
      [withPart(2, "-1"), /seq/],
      [withPart(2, "01"), /seq/],
      [withPart(3, "XYZ"), /key id/],
      [withPart(4, "AAAA"), /leaf hash is not 32 bytes/],
      [withPart(5, "a+b="), /signature is not base64url/],
    ];
    for (const [text, why] of bad) expect(() => parseReceipt(text), text).toThrow(why);
  });
});
