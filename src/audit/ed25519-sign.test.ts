import { createPrivateKey, randomBytes, verify } from "node:crypto";
import { describe, expect, it } from "vitest";
import { ed25519Backend, ed25519Signer } from "./ed25519-sign.js";
import { generateSigningKey, publicKeyFromRaw, signingKeyFromSeed } from "./keys.js";

const hex = (s: string) => new Uint8Array(Buffer.from(s, "hex"));

// RFC 8032 §7.1, TEST 1, TEST 2 and TEST 3: secret key (seed), public key, message, signature.
const VECTORS = [
  {
    seed: "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
    pub: "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a",
    msg: "",
    sig: "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b",
  },
  {
    seed: "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
    pub: "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c",
    msg: "72",
    sig: "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00",
  },
  {
    seed: "c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7",
    pub: "fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025",
    msg: "af82",
    sig: "6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac18ff9b538d16f290ae67f760984dc6594a7c15e9716ed28dc027beceea1ec40a",
  },
];

describe("Ed25519 signing (ed25519-sign.ts)", () => {
  it("signs through libsodium here (its prebuilt addon loads on this platform)", () => {
    expect(ed25519Backend).toBe("libsodium");
  });

  it("gives RFC 8032's signatures for its test vectors, on both backends", () => {
    for (const v of VECTORS) {
      const key = signingKeyFromSeed(hex(v.seed));
      expect(Buffer.from(key.publicKeyRaw).toString("hex")).toBe(v.pub);
      for (const backend of ["best", "openssl"] as const) {
        const signer = ed25519Signer(key.privateKey, key.publicKeyRaw, backend);
        expect(Buffer.from(signer(hex(v.msg))).toString("hex")).toBe(v.sig);
      }
      expect(Buffer.from(key.sign(hex(v.msg))).toString("hex")).toBe(v.sig);
    }
  });

  it("signs exactly as OpenSSL does, for random keys and messages of every size up to 64 KiB", () => {
    for (let i = 0; i < 200; i++) {
      const key = generateSigningKey();
      const msg = new Uint8Array(randomBytes(i < 100 ? i : 1 + ((i * 331) % 65_536)));
      const a = ed25519Signer(key.privateKey, key.publicKeyRaw)(msg);
      const b = ed25519Signer(key.privateKey, key.publicKeyRaw, "openssl")(msg);
      expect(a).toBeInstanceOf(Uint8Array);
      expect(a).toEqual(b);
      expect(verify(null, msg, publicKeyFromRaw(key.publicKeyRaw), a)).toBe(true);
    }
  });

  it("refuses a private key that is not the given public key's", () => {
    const { privateKey } = generateSigningKey();
    const other = generateSigningKey();
    expect(() => ed25519Signer(privateKey, other.publicKeyRaw)).toThrow(/another public key/);
    // A PEM round trip is the same key.
    const pem = other.privateKey.export({ format: "pem", type: "pkcs8" }).toString();
    expect(() => ed25519Signer(createPrivateKey(pem), other.publicKeyRaw)).not.toThrow();
  });
});
