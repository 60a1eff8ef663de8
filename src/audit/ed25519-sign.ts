/**
 * Ed25519 signing on the request path: every decision and outcome record is signed, two
 * signatures a request. libsodium (`sodium-native`, its prebuilt addon) signs in ~20 µs where
 * `node:crypto` (OpenSSL) takes ~36 µs on this machine (bench/findings.md, session 9). Ed25519
 * signatures are deterministic (RFC 8032 §5.1.6), so both give the same bytes for the same key
 * and message: which one signed is not visible in any record, and verification stays on
 * `node:crypto` (keys.ts). Where the addon does not load (a platform without a prebuilt
 * binary), OpenSSL signs; {@link ed25519Backend} says which.
 */
import { type KeyObject, sign } from "node:crypto";
import { createRequire } from "node:module";

/** The parts of sodium-native used here. */
interface Sodium {
  crypto_sign_SECRETKEYBYTES: number;
  crypto_sign_BYTES: number;
  sodium_malloc(size: number): Buffer;
  sodium_mprotect_readonly(buffer: Buffer): void;
  crypto_sign_seed_keypair(pk: Uint8Array, sk: Uint8Array, seed: Uint8Array): void;
  crypto_sign_detached(sig: Uint8Array, message: Uint8Array, sk: Uint8Array): void;
}

function loadSodium(): { sodium?: Sodium; why?: string } {
  try {
    return { sodium: createRequire(import.meta.url)("sodium-native") as Sodium };
  } catch (err) {
    return { why: (err as Error).message.split("\n")[0] };
  }
}

const loaded = loadSodium();

/** "libsodium", or "openssl (…why libsodium did not load)". */
export const ed25519Backend: string = loaded.sodium ? "libsodium" : `openssl (${loaded.why})`;

/**
 * A function that signs with `privateKey` (an Ed25519 KeyObject) whose public key is
 * `publicKeyRaw`. With libsodium the secret key sits in guarded, read-only memory
 * (`sodium_malloc`), derived once from the key's 32-byte seed.
 */
export function ed25519Signer(
  privateKey: KeyObject,
  publicKeyRaw: Uint8Array,
  backend: "best" | "openssl" = "best",
): (data: Uint8Array) => Uint8Array {
  const sodium = backend === "best" ? loaded.sodium : undefined;
  if (!sodium) return (data) => new Uint8Array(sign(null, data, privateKey));
  const { d } = privateKey.export({ format: "jwk" });
  if (typeof d !== "string") throw new TypeError("Ed25519 private key without its seed");
  const seed = Buffer.from(d, "base64url");
  const sk = sodium.sodium_malloc(sodium.crypto_sign_SECRETKEYBYTES);
  const pk = new Uint8Array(publicKeyRaw.length);
  sodium.crypto_sign_seed_keypair(pk, sk, seed);
  seed.fill(0);
  sodium.sodium_mprotect_readonly(sk);
  if (!Buffer.from(pk).equals(Buffer.from(publicKeyRaw)))
    throw new Error("libsodium derived another public key from this Ed25519 key's seed");
  const bytes = sodium.crypto_sign_BYTES;
  return (data) => {
    const sig = new Uint8Array(bytes);
    sodium.crypto_sign_detached(sig, data, sk);
    return sig;
  };
}
