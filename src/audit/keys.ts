/**
 * Ed25519 signing keys for decision records and checkpoints, via `node:crypto` (signing through
 * libsodium where it loads: ed25519-sign.ts, the same signatures).
 *
 * - A key id is derived from the public key alone: hex of the first 8 bytes of
 *   SHA-256(raw 32-byte public key), so anyone holding the public key can recompute it.
 * - Private keys live one per PEM file (PKCS#8, mode 0600) in a keys directory.
 * - Verification goes through a {@link KeyRing} of public keys with validity ranges; rotation
 *   adds a key (and closes the old one's range) and old keys keep verifying what they signed.
 */
import {
  createHash,
  createPrivateKey,
  createPublicKey,
  type KeyObject,
  randomBytes,
  verify,
} from "node:crypto";
import { mkdir, readdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { fromBase64, toBase64 } from "../encoding/index.js";
import { ed25519Signer } from "./ed25519-sign.js";

export const ED25519_PUBLIC_KEY_SIZE = 32;
export const ED25519_SIGNATURE_SIZE = 64;

/** A private Ed25519 key with its derived public parts. */
export interface SigningKey {
  /** {@link keyIdOf} the public key. */
  readonly keyId: string;
  /** The 32-byte RFC 8032 public key. */
  readonly publicKeyRaw: Uint8Array;
  readonly publicKey: KeyObject;
  readonly privateKey: KeyObject;
  /** Ed25519 signature (64 bytes) over `data`. */
  sign(data: Uint8Array): Uint8Array;
}

/** Hex of the first 8 bytes of SHA-256(raw public key): 16 lowercase hex characters. */
export function keyIdOf(publicKeyRaw: Uint8Array): string {
  checkRawPublicKey(publicKeyRaw);
  return createHash("sha256").update(publicKeyRaw).digest("hex").slice(0, 16);
}

/**
 * A fresh random key: 32 random bytes are an Ed25519 private key (RFC 8032 §5.1.5). Not
 * `generateKeyPairSync`: on Node 20 a key it made can deadlock the process when exported as
 * JWK (as the signer and the public key's raw bytes are) — the export holds the key's mutex
 * while it allocates, a collection then finalises the key-generation job, whose destructor
 * takes the same mutex (seen in CI: src/audit/ed25519-sign.test.ts hung with that stack).
 */
export function generateSigningKey(): SigningKey {
  return signingKeyFromSeed(randomBytes(32));
}

/** The key whose RFC 8032 32-byte seed (private key) is `seed`. For tests and interop vectors. */
export function signingKeyFromSeed(seed: Uint8Array): SigningKey {
  if (seed.length !== 32) throw new RangeError(`Ed25519 seed must be 32 bytes, got ${seed.length}`);
  // PKCS#8 DER of an Ed25519 key (RFC 8410): a fixed 16-byte header, then the seed.
  const der = Buffer.concat([Buffer.from("302e020100300506032b657004220420", "hex"), Buffer.from(seed)]);
  return fromPrivateKeyObject(createPrivateKey({ key: der, format: "der", type: "pkcs8" }));
}

/** Parses a PKCS#8 PEM Ed25519 private key. */
export function signingKeyFromPem(pem: string): SigningKey {
  const key = createPrivateKey({ key: pem, format: "pem" });
  if (key.asymmetricKeyType !== "ed25519") {
    throw new TypeError(`expected an Ed25519 private key, got ${key.asymmetricKeyType ?? key.type}`);
  }
  return fromPrivateKeyObject(key);
}

/** PKCS#8 PEM of the private key. */
export function signingKeyToPem(key: SigningKey): string {
  return key.privateKey.export({ format: "pem", type: "pkcs8" }).toString();
}

function fromPrivateKeyObject(privateKey: KeyObject): SigningKey {
  const publicKey = createPublicKey(privateKey);
  const publicKeyRaw = rawFromPublicKeyObject(publicKey);
  return {
    keyId: keyIdOf(publicKeyRaw),
    publicKeyRaw,
    publicKey,
    privateKey,
    sign: ed25519Signer(privateKey, publicKeyRaw),
  };
}

function rawFromPublicKeyObject(key: KeyObject): Uint8Array {
  if (key.asymmetricKeyType !== "ed25519")
    throw new TypeError(`expected an Ed25519 key, got ${key.asymmetricKeyType}`);
  const { x } = key.export({ format: "jwk" });
  if (typeof x !== "string") throw new TypeError("Ed25519 public key without x");
  return new Uint8Array(Buffer.from(x, "base64url"));
}

function checkRawPublicKey(raw: Uint8Array): void {
  if (raw.length !== ED25519_PUBLIC_KEY_SIZE) {
    throw new RangeError(`Ed25519 public key must be ${ED25519_PUBLIC_KEY_SIZE} bytes, got ${raw.length}`);
  }
}

/** A `KeyObject` for a raw 32-byte public key. */
export function publicKeyFromRaw(raw: Uint8Array): KeyObject {
  checkRawPublicKey(raw);
  return createPublicKey({
    key: { kty: "OKP", crv: "Ed25519", x: Buffer.from(raw).toString("base64url") },
    format: "jwk",
  });
}

/** SPKI PEM of a raw public key. */
export function publicKeyToPem(raw: Uint8Array): string {
  return publicKeyFromRaw(raw).export({ format: "pem", type: "spki" }).toString();
}

/** The raw 32 bytes of an SPKI PEM Ed25519 public key. */
export function publicKeyFromPem(pem: string): Uint8Array {
  return rawFromPublicKeyObject(createPublicKey({ key: pem, format: "pem" }));
}

/** Verifies an Ed25519 signature; false (never a throw) for malformed keys or signatures. */
export function verifyEd25519(publicKeyRaw: Uint8Array, data: Uint8Array, signature: Uint8Array): boolean {
  if (publicKeyRaw.length !== ED25519_PUBLIC_KEY_SIZE || signature.length !== ED25519_SIGNATURE_SIZE)
    return false;
  try {
    return verify(null, data, publicKeyFromRaw(publicKeyRaw), signature);
  } catch {
    return false;
  }
}

// ---- Key files ----

const PRIVATE_SUFFIX = ".key.pem";
const PUBLIC_SUFFIX = ".pub.pem";

/**
 * Writes `<dir>/<keyId>.key.pem` (PKCS#8, mode 0600) and `<dir>/<keyId>.pub.pem` (SPKI).
 * Creates `dir` (mode 0700) if needed; never overwrites an existing key file.
 */
export async function saveSigningKey(
  dir: string,
  key: SigningKey,
): Promise<{ privateKeyPath: string; publicKeyPath: string }> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const privateKeyPath = join(dir, key.keyId + PRIVATE_SUFFIX);
  const publicKeyPath = join(dir, key.keyId + PUBLIC_SUFFIX);
  await writeFile(privateKeyPath, signingKeyToPem(key), { mode: 0o600, flag: "wx" });
  await writeFile(publicKeyPath, publicKeyToPem(key.publicKeyRaw), { mode: 0o644, flag: "wx" });
  return { privateKeyPath, publicKeyPath };
}

/** Reads one PKCS#8 PEM private key file. */
export async function loadSigningKey(path: string): Promise<SigningKey> {
  return signingKeyFromPem(await readFile(path, "utf8"));
}

/**
 * Every `*.key.pem` in `dir`, sorted by key id; [] when the directory does not exist.
 * A file whose name does not match its key's id is rejected (it was renamed or replaced).
 */
export async function loadSigningKeys(dir: string): Promise<SigningKey[]> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return [];
    throw err;
  }
  const keys: SigningKey[] = [];
  for (const name of names.filter((n) => n.endsWith(PRIVATE_SUFFIX)).sort()) {
    const key = await loadSigningKey(join(dir, name));
    if (name !== key.keyId + PRIVATE_SUFFIX) {
      throw new Error(`key file ${name} holds key ${key.keyId}; expected ${key.keyId}${PRIVATE_SUFFIX}`);
    }
    keys.push(key);
  }
  return keys;
}

// ---- Public keys and rotation ----

/** A public verification key and when it was (or is) used to sign. Times in µs since the epoch. */
export interface PublicKeyInfo {
  keyId: string;
  /** The raw 32-byte public key. */
  publicKeyRaw: Uint8Array;
  /** First instant the key may sign (inclusive). */
  validFromUs: number;
  /** End of the signing period (exclusive); null while the key is current. */
  validUntilUs: number | null;
}

/** The JSON form of a {@link PublicKeyInfo}, as exported and served by ListSigningKeys. */
export interface PublishedKey {
  key_id: string;
  algorithm: "ed25519";
  /** Standard base64 of the raw 32-byte public key. */
  public_key: string;
  public_key_pem: string;
  valid_from_us: number;
  valid_until_us: number | null;
}

export function toPublishedKey(info: PublicKeyInfo): PublishedKey {
  return {
    key_id: info.keyId,
    algorithm: "ed25519",
    public_key: toBase64(info.publicKeyRaw),
    public_key_pem: publicKeyToPem(info.publicKeyRaw),
    valid_from_us: info.validFromUs,
    valid_until_us: info.validUntilUs,
  };
}

/** Parses a published key, checking that its id, raw key and PEM all agree. */
export function fromPublishedKey(p: PublishedKey): PublicKeyInfo {
  if (p.algorithm !== "ed25519")
    throw new TypeError(`key ${p.key_id}: unsupported algorithm ${String(p.algorithm)}`);
  let publicKey: Uint8Array;
  try {
    publicKey = fromBase64(p.public_key);
  } catch {
    publicKey = new Uint8Array();
  }
  if (publicKey.length !== ED25519_PUBLIC_KEY_SIZE) {
    throw new TypeError(`key ${p.key_id}: public_key is not base64 of 32 bytes`);
  }
  if (keyIdOf(publicKey) !== p.key_id)
    throw new TypeError(`key ${p.key_id}: key id does not match the public key`);
  if (p.public_key_pem !== undefined && !Buffer.from(publicKeyFromPem(p.public_key_pem)).equals(publicKey)) {
    throw new TypeError(`key ${p.key_id}: public_key_pem differs from public_key`);
  }
  return {
    keyId: p.key_id,
    publicKeyRaw: publicKey,
    validFromUs: p.valid_from_us,
    validUntilUs: p.valid_until_us,
  };
}

/**
 * The public keys a verifier trusts, by key id.
 *
 * @example
 * const ring = new KeyRing([{ keyId: k.keyId, publicKeyRaw: k.publicKeyRaw, validFromUs: 0, validUntilUs: null }]);
 * ring.verify(k.keyId, data, k.sign(data)); // true
 */
export class KeyRing {
  private readonly keys = new Map<string, PublicKeyInfo>();
  /** Parsed keys, so that verifying many records does not re-import the key each time. */
  private readonly objects = new Map<string, KeyObject>();

  constructor(keys: Iterable<PublicKeyInfo> = []) {
    for (const k of keys) this.add(k);
  }

  /** Adds a key; its id must be derived from its public key and not already be present with another key. */
  add(info: PublicKeyInfo): void {
    if (keyIdOf(info.publicKeyRaw) !== info.keyId)
      throw new TypeError(`key id ${info.keyId} does not match its public key`);
    if (info.validUntilUs !== null && info.validUntilUs < info.validFromUs) {
      throw new RangeError(`key ${info.keyId}: validUntil before validFrom`);
    }
    if (this.keys.has(info.keyId)) throw new Error(`key ${info.keyId} is already in the key ring`);
    this.keys.set(info.keyId, { ...info, publicKeyRaw: info.publicKeyRaw.slice() });
    this.objects.set(info.keyId, publicKeyFromRaw(info.publicKeyRaw));
  }

  /**
   * Rotation: closes the current key(s) at `atUs` and adds `next`, valid from `atUs`.
   * Old keys stay in the ring and keep verifying.
   */
  rotate(next: Pick<SigningKey, "keyId" | "publicKeyRaw">, atUs: number): void {
    for (const [id, k] of this.keys) {
      if (k.validUntilUs === null || k.validUntilUs > atUs) this.keys.set(id, { ...k, validUntilUs: atUs });
    }
    this.add({ keyId: next.keyId, publicKeyRaw: next.publicKeyRaw, validFromUs: atUs, validUntilUs: null });
  }

  get(keyId: string): PublicKeyInfo | undefined {
    return this.keys.get(keyId);
  }

  has(keyId: string): boolean {
    return this.keys.has(keyId);
  }

  /** Keys in order of validFrom, then key id. */
  list(): PublicKeyInfo[] {
    return [...this.keys.values()].sort(
      (a, b) => a.validFromUs - b.validFromUs || (a.keyId < b.keyId ? -1 : 1),
    );
  }

  /** The key valid at `atUs` that started last (the one a signer should use then). */
  currentAt(atUs: number): PublicKeyInfo | undefined {
    return this.list()
      .filter((k) => this.isValidAt(k.keyId, atUs))
      .at(-1);
  }

  /** Whether `keyId` was in its signing period at `atUs`. */
  isValidAt(keyId: string, atUs: number): boolean {
    const k = this.keys.get(keyId);
    return k !== undefined && atUs >= k.validFromUs && (k.validUntilUs === null || atUs < k.validUntilUs);
  }

  /** Verifies a signature by `keyId`; false for an unknown key. */
  verify(keyId: string, data: Uint8Array, signature: Uint8Array): boolean {
    const key = this.objects.get(keyId);
    if (key === undefined || signature.length !== ED25519_SIGNATURE_SIZE) return false;
    try {
      return verify(null, data, key, signature);
    } catch {
      return false;
    }
  }
}
