import { createHash } from "node:crypto";
import { mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import {
  fromPublishedKey,
  generateSigningKey,
  KeyRing,
  keyIdOf,
  loadSigningKey,
  loadSigningKeys,
  publicKeyFromPem,
  publicKeyToPem,
  saveSigningKey,
  signingKeyFromPem,
  signingKeyFromSeed,
  signingKeyToPem,
  toPublishedKey,
  verifyEd25519,
} from "./keys.js";

const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");
const bytes = (s: string) => new TextEncoder().encode(s);

describe("Ed25519 keys", () => {
  it("matches RFC 8032 §7.1 test 1 (seed → public key → signature of the empty message)", () => {
    const key = signingKeyFromSeed(
      Buffer.from("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60", "hex"),
    );
    expect(hex(key.publicKeyRaw)).toBe("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a");
    expect(hex(key.sign(new Uint8Array()))).toBe(
      "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b",
    );
  });

  it("derives the key id as hex of the first 8 bytes of SHA-256(raw public key)", () => {
    const key = generateSigningKey();
    expect(key.keyId).toMatch(/^[0-9a-f]{16}$/);
    expect(key.keyId).toBe(createHash("sha256").update(key.publicKeyRaw).digest("hex").slice(0, 16));
    expect(keyIdOf(key.publicKeyRaw)).toBe(key.keyId);
    expect(generateSigningKey().keyId).not.toBe(key.keyId);
    expect(() => keyIdOf(new Uint8Array(31))).toThrow(RangeError);
  });

  it("signs and verifies; rejects a changed message, signature or key", () => {
    const key = generateSigningKey();
    const msg = bytes("decision");
    const sig = key.sign(msg);
    expect(sig).toHaveLength(64);
    expect(verifyEd25519(key.publicKeyRaw, msg, sig)).toBe(true);
    expect(verifyEd25519(key.publicKeyRaw, bytes("decisioN"), sig)).toBe(false);
    const bad = sig.slice();
    bad[10]! ^= 1;
    expect(verifyEd25519(key.publicKeyRaw, msg, bad)).toBe(false);
    expect(verifyEd25519(generateSigningKey().publicKeyRaw, msg, sig)).toBe(false);
    expect(verifyEd25519(key.publicKeyRaw, msg, sig.subarray(0, 63))).toBe(false);
    expect(verifyEd25519(new Uint8Array(32), msg, sig)).toBe(false);
  });

  it("round-trips private keys through PKCS#8 PEM and public keys through SPKI PEM", () => {
    const key = generateSigningKey();
    const pem = signingKeyToPem(key);
    expect(pem).toContain("BEGIN PRIVATE KEY");
    const again = signingKeyFromPem(pem);
    expect(again.keyId).toBe(key.keyId);
    expect(hex(again.sign(bytes("x")))).toBe(hex(key.sign(bytes("x"))));
    const pubPem = publicKeyToPem(key.publicKeyRaw);
    expect(pubPem).toContain("BEGIN PUBLIC KEY");
    expect(hex(publicKeyFromPem(pubPem))).toBe(hex(key.publicKeyRaw));
  });
});

describe("key files", () => {
  const dirs: string[] = [];
  afterAll(async () => {
    for (const d of dirs) await rm(d, { recursive: true, force: true });
  });
  const tempDir = async () => {
    const d = await mkdtemp(join(tmpdir(), "sovr-keys-"));
    dirs.push(d);
    return join(d, "keys");
  };

  it("saves the private key with mode 0600, loads it back, and never overwrites", async () => {
    const dir = await tempDir();
    const key = generateSigningKey();
    const { privateKeyPath, publicKeyPath } = await saveSigningKey(dir, key);
    expect(privateKeyPath).toBe(join(dir, `${key.keyId}.key.pem`));
    expect((await stat(privateKeyPath)).mode & 0o777).toBe(0o600);
    expect((await stat(dir)).mode & 0o777).toBe(0o700);
    expect(hex(publicKeyFromPem(await readFile(publicKeyPath, "utf8")))).toBe(hex(key.publicKeyRaw));
    expect((await loadSigningKey(privateKeyPath)).keyId).toBe(key.keyId);
    await expect(saveSigningKey(dir, key)).rejects.toThrow(/EEXIST/);
  });

  it("lists the keys of a directory, and rejects a key file renamed to another id", async () => {
    const dir = await tempDir();
    expect(await loadSigningKeys(dir)).toEqual([]);
    const a = generateSigningKey();
    const b = generateSigningKey();
    await saveSigningKey(dir, a);
    await saveSigningKey(dir, b);
    expect((await loadSigningKeys(dir)).map((k) => k.keyId)).toEqual([a.keyId, b.keyId].sort());
    await writeFile(join(dir, "0000000000000000.key.pem"), signingKeyToPem(a));
    await expect(loadSigningKeys(dir)).rejects.toThrow(/holds key/);
  });
});

describe("KeyRing", () => {
  const k1 = generateSigningKey();
  const k2 = generateSigningKey();
  const msg = bytes("record");

  it("verifies by key id, and not with an unknown id or another key's signature", () => {
    const ring = new KeyRing([
      { keyId: k1.keyId, publicKeyRaw: k1.publicKeyRaw, validFromUs: 0, validUntilUs: null },
    ]);
    expect(ring.verify(k1.keyId, msg, k1.sign(msg))).toBe(true);
    expect(ring.verify(k2.keyId, msg, k2.sign(msg))).toBe(false);
    expect(ring.verify(k1.keyId, msg, k2.sign(msg))).toBe(false);
  });

  it("rejects a key id that does not belong to the key, and duplicate ids", () => {
    const ring = new KeyRing();
    expect(() =>
      ring.add({ keyId: k2.keyId, publicKeyRaw: k1.publicKeyRaw, validFromUs: 0, validUntilUs: null }),
    ).toThrow(/does not match/);
    ring.add({ keyId: k1.keyId, publicKeyRaw: k1.publicKeyRaw, validFromUs: 0, validUntilUs: null });
    expect(() =>
      ring.add({ keyId: k1.keyId, publicKeyRaw: k1.publicKeyRaw, validFromUs: 5, validUntilUs: null }),
    ).toThrow(/already/);
    expect(() =>
      ring.add({ keyId: k2.keyId, publicKeyRaw: k2.publicKeyRaw, validFromUs: 9, validUntilUs: 8 }),
    ).toThrow(RangeError);
  });

  it("rotation adds a key, closes the old one's period, and old signatures keep verifying", () => {
    const ring = new KeyRing([
      { keyId: k1.keyId, publicKeyRaw: k1.publicKeyRaw, validFromUs: 100, validUntilUs: null },
    ]);
    const oldSig = k1.sign(msg);
    ring.rotate(k2, 1_000);
    expect(ring.list().map((k) => [k.keyId, k.validFromUs, k.validUntilUs])).toEqual([
      [k1.keyId, 100, 1_000],
      [k2.keyId, 1_000, null],
    ]);
    expect(ring.verify(k1.keyId, msg, oldSig)).toBe(true);
    expect(ring.verify(k2.keyId, msg, k2.sign(msg))).toBe(true);
    expect(ring.isValidAt(k1.keyId, 999)).toBe(true);
    expect(ring.isValidAt(k1.keyId, 1_000)).toBe(false);
    expect(ring.isValidAt(k2.keyId, 1_000)).toBe(true);
    expect(ring.isValidAt(k1.keyId, 99)).toBe(false);
    expect(ring.currentAt(500)?.keyId).toBe(k1.keyId);
    expect(ring.currentAt(5_000)?.keyId).toBe(k2.keyId);
    expect(ring.currentAt(50)).toBeUndefined();
  });

  it("publishes keys as JSON and parses them back, checking id, key and PEM agree", () => {
    const info = { keyId: k1.keyId, publicKeyRaw: k1.publicKeyRaw, validFromUs: 7, validUntilUs: null };
    const published = toPublishedKey(info);
    expect(published).toMatchObject({
      key_id: k1.keyId,
      algorithm: "ed25519",
      valid_from_us: 7,
      valid_until_us: null,
    });
    expect(fromPublishedKey(JSON.parse(JSON.stringify(published)))).toEqual(info);
    expect(() => fromPublishedKey({ ...published, key_id: k2.keyId })).toThrow(/does not match/);
    expect(() => fromPublishedKey({ ...published, public_key_pem: publicKeyToPem(k2.publicKeyRaw) })).toThrow(
      /differs/,
    );
    expect(() => fromPublishedKey({ ...published, public_key: "AAAA" })).toThrow(/32 bytes/);
  });
});
