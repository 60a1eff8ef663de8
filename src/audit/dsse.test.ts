import { describe, expect, it } from "vitest";
import { fromBase64, toBase64 } from "../encoding/index.js";
import { pae, RECORD_PAYLOAD_TYPE, signEnvelope, verifyEnvelope } from "./dsse.js";
import { generateSigningKey, KeyRing, type SigningKey, verifyEd25519 } from "./keys.js";

const bytes = (s: string) => new TextEncoder().encode(s);
const text = (b: Uint8Array) => new TextDecoder().decode(b);
const ringOf = (...keys: SigningKey[]) =>
  new KeyRing(
    keys.map((k) => ({ keyId: k.keyId, publicKeyRaw: k.publicKeyRaw, validFromUs: 0, validUntilUs: null })),
  );

describe("PAE", () => {
  it("matches the DSSE protocol's example", () => {
    expect(text(pae("http://example.com/HelloWorld", bytes("hello world")))).toBe(
      "DSSEv1 29 http://example.com/HelloWorld 11 hello world",
    );
  });
  it("counts bytes, not characters, and handles an empty body", () => {
    expect(text(pae("t", bytes("€")))).toBe("DSSEv1 1 t 3 €");
    expect(text(pae("", new Uint8Array()))).toBe("DSSEv1 0  0 ");
  });
});

describe("envelopes", () => {
  const key = generateSigningKey();
  const payload = bytes('{"kind":"decision","version":1}');

  it("signs PAE(type, payload) with the key and names its key id", () => {
    const env = signEnvelope(payload, key);
    expect(env.payloadType).toBe(RECORD_PAYLOAD_TYPE);
    expect(text(fromBase64(env.payload))).toBe(text(payload));
    expect(env.signatures).toHaveLength(1);
    expect(env.signatures[0]!.keyid).toBe(key.keyId);
    const sig = fromBase64(env.signatures[0]!.sig);
    expect(verifyEd25519(key.publicKeyRaw, pae(RECORD_PAYLOAD_TYPE, payload), sig)).toBe(true);
    expect(verifyEd25519(key.publicKeyRaw, payload, sig)).toBe(false);
  });

  it("verifies against a key ring and returns the payload", () => {
    const env = JSON.parse(JSON.stringify(signEnvelope(payload, key)));
    const result = verifyEnvelope(env, ringOf(key));
    expect(result).toEqual({ ok: true, payload, keyIds: [key.keyId] });
  });

  it("rejects a changed payload, payload type, signature, or an unknown key", () => {
    const ring = ringOf(key);
    const env = signEnvelope(payload, key);
    const other = bytes('{"kind":"decision","version":2}');
    expect(verifyEnvelope({ ...env, payload: toBase64(other) }, ring)).toMatchObject({
      ok: false,
      keyId: key.keyId,
    });
    expect(verifyEnvelope({ ...env, payloadType: "application/json" }, ring)).toMatchObject({ ok: false });
    // Signed under another payload type: the type is bound by PAE.
    const wrongType = signEnvelope(payload, key, "application/json");
    expect(verifyEnvelope({ ...wrongType, payloadType: RECORD_PAYLOAD_TYPE }, ring).ok).toBe(false);
    expect(verifyEnvelope(wrongType, ring, "application/json").ok).toBe(true);
    const sig = fromBase64(env.signatures[0]!.sig);
    sig[0]! ^= 0x80;
    expect(
      verifyEnvelope({ ...env, signatures: [{ keyid: key.keyId, sig: toBase64(sig) }] }, ring),
    ).toMatchObject({
      ok: false,
      reason: `bad signature by key ${key.keyId}`,
    });
    const stranger = generateSigningKey();
    expect(verifyEnvelope(signEnvelope(payload, stranger), ring)).toMatchObject({
      ok: false,
      reason: `signed by unknown key ${stranger.keyId}`,
      keyId: stranger.keyId,
    });
  });

  it("requires every signature to verify when there are several", () => {
    const k2 = generateSigningKey();
    const both = signEnvelope(payload, [key, k2]);
    expect(verifyEnvelope(both, ringOf(key, k2))).toMatchObject({ ok: true, keyIds: [key.keyId, k2.keyId] });
    expect(verifyEnvelope(both, ringOf(key)).ok).toBe(false);
  });

  it("rejects malformed envelopes", () => {
    const ring = ringOf(key);
    const env = signEnvelope(payload, key);
    for (const bad of [
      null,
      [],
      "x",
      { ...env, signatures: [] },
      { ...env, payload: 5 },
      { ...env, payload: `${env.payload}!` },
      { ...env, payload: env.payload.replace(/=+$/, "") + (env.payload.endsWith("=") ? "" : "=") },
      { ...env, signatures: [{ keyid: key.keyId }] },
      { ...env, signatures: [{ keyid: key.keyId, sig: "not base64" }] },
    ]) {
      expect(verifyEnvelope(bad, ring).ok, JSON.stringify(bad)).toBe(false);
    }
  });
});

describe("strict base64", () => {
  it("round-trips and rejects non-canonical forms", () => {
    for (const n of [0, 1, 2, 3, 4, 31, 32, 64]) {
      const b = new Uint8Array(n).map((_, i) => (i * 37) & 0xff);
      expect(fromBase64(toBase64(b))).toEqual(b);
    }
    expect(() => fromBase64("QQ")).toThrow(TypeError);
    expect(() => fromBase64("QR==")).toThrow(TypeError); // non-zero padding bits
    expect(() => fromBase64("-_8=")).toThrow(TypeError); // base64url
    expect(() => fromBase64("QQ==\n")).toThrow(TypeError);
    expect(fromBase64("QQ==")).toEqual(Uint8Array.of(0x41));
  });
});
