/**
 * C2SP tlog-cosignature (c2sp.org/tlog-cosignature), Ed25519 cosignature/v1 — note signature
 * type 0x04: a witness's timestamped statement that, as of `time`, the checkpoint is the largest
 * consistent tree head it has seen for the log. As torchwood's `NewCosignatureSigner` and
 * litewitness write it:
 *
 *   key ID    = SHA-256(<name> ‖ "\n" ‖ 0x04 ‖ 32-byte Ed25519 public key)[:4]
 *   signature = u64 big-endian timestamp ‖ Ed25519 signature over
 *               "cosignature/v1\ntime <timestamp>\n" ‖ <checkpoint note text>
 *   vkey      = <name>+<key ID, 8 hex>+base64(0x04 ‖ public key)
 *
 * A cosignature is one more note signature line on the checkpoint, so {@link openNote} verifies
 * it with the verifiers built here.
 */
import { createHash } from "node:crypto";
import { fromBase64, toBase64 } from "../encoding/index.js";
import { ED25519_PUBLIC_KEY_SIZE, ED25519_SIGNATURE_SIZE, type SigningKey, verifyEd25519 } from "./keys.js";
import { isValidKeyName, NoteError, type NoteSignature, type NoteSigner, type NoteVerifier } from "./note.js";

/** Signature type of an Ed25519 cosignature/v1 (c2sp.org/signed-note §Signature types). */
export const ALG_COSIGNATURE_V1 = 0x04;
const TIMESTAMP_SIZE = 8;
const encoder = new TextEncoder();

/** A note verifier of cosignatures, which also reads a verified cosignature's timestamp. */
export interface CosignatureVerifier extends NoteVerifier {
  /** The raw public key (32 bytes). */
  publicKeyRaw: Uint8Array;
  /** The verifier key string (`name+hash+base64(0x04 ‖ key)`). */
  vkey: string;
}

/** SHA-256(name ‖ 0x0A ‖ 0x04 ‖ public key)[:4] as a big-endian uint32. */
export function cosignatureKeyHash(name: string, publicKeyRaw: Uint8Array): number {
  return createHash("sha256")
    .update(encoder.encode(name))
    .update(Uint8Array.of(0x0a, ALG_COSIGNATURE_V1))
    .update(publicKeyRaw)
    .digest()
    .readUInt32BE(0);
}

/** The signed message: the two header lines, then the checkpoint's note text. */
export function cosignatureMessage(timestamp: bigint, text: Uint8Array): Uint8Array {
  const head = encoder.encode(`cosignature/v1\ntime ${timestamp.toString()}\n`);
  const out = new Uint8Array(head.length + text.length);
  out.set(head);
  out.set(text, head.length);
  return out;
}

/**
 * A note signer producing cosignatures under the witness name `name`, timestamped by `now`
 * (milliseconds; default the clock) in whole seconds.
 */
export function cosignatureSigner(name: string, key: SigningKey, now: () => number = Date.now): NoteSigner {
  if (!isValidKeyName(name)) throw new NoteError(`invalid key name ${JSON.stringify(name)}`);
  return {
    name,
    keyHash: cosignatureKeyHash(name, key.publicKeyRaw),
    sign(text) {
      const t = BigInt(Math.floor(now() / 1000));
      const sig = key.sign(cosignatureMessage(t, text));
      const out = new Uint8Array(TIMESTAMP_SIZE + sig.length);
      new DataView(out.buffer).setBigUint64(0, t);
      out.set(sig, TIMESTAMP_SIZE);
      return out;
    },
  };
}

/** A verifier of cosignatures by an Ed25519 public key under the witness name `name`. */
export function cosignatureVerifier(name: string, publicKeyRaw: Uint8Array): CosignatureVerifier {
  if (!isValidKeyName(name)) throw new NoteError(`invalid key name ${JSON.stringify(name)}`);
  if (publicKeyRaw.length !== ED25519_PUBLIC_KEY_SIZE)
    throw new NoteError("Ed25519 public key must be 32 bytes");
  const key = publicKeyRaw.slice();
  const keyHash = cosignatureKeyHash(name, key);
  const encoded = new Uint8Array(1 + key.length);
  encoded[0] = ALG_COSIGNATURE_V1;
  encoded.set(key, 1);
  return {
    name,
    keyHash,
    publicKeyRaw: key,
    vkey: `${name}+${keyHash.toString(16).padStart(8, "0")}+${toBase64(encoded)}`,
    verify(text, signature) {
      if (signature.length !== TIMESTAMP_SIZE + ED25519_SIGNATURE_SIZE) return false;
      const view = new DataView(signature.buffer, signature.byteOffset, signature.byteLength);
      const t = view.getBigUint64(0);
      if (t > 2n ** 63n - 1n) return false;
      return verifyEd25519(key, cosignatureMessage(t, text), signature.subarray(TIMESTAMP_SIZE));
    },
  };
}

/** Parses a cosigner's verifier key (signature type 0x04), checking its key ID. */
export function parseCosignerKey(vkey: string): CosignatureVerifier {
  const m = /^([^+]+)\+([0-9a-f]{8})\+([A-Za-z0-9+/=]+)$/.exec(vkey.trim());
  if (!m) throw new NoteError("malformed verifier key: expected name+hash+base64");
  const [, name, hashHex, b64] = m as unknown as [string, string, string, string];
  let encoded: Uint8Array;
  try {
    encoded = fromBase64(b64);
  } catch {
    throw new NoteError("malformed verifier key: the key is not base64");
  }
  if (encoded.length !== 1 + ED25519_PUBLIC_KEY_SIZE || encoded[0] !== ALG_COSIGNATURE_V1)
    throw new NoteError("verifier key is not an Ed25519 cosignature/v1 key (type 0x04)");
  const v = cosignatureVerifier(name, encoded.subarray(1));
  if (v.keyHash !== Number.parseInt(hashHex, 16))
    throw new NoteError("verifier key hash does not match the key");
  return v;
}

/** The timestamp (POSIX seconds) of a cosignature as written in a note. */
export function cosignatureTime(sig: NoteSignature): number {
  const blob = fromBase64(sig.base64);
  if (blob.length !== 4 + TIMESTAMP_SIZE + ED25519_SIGNATURE_SIZE)
    throw new NoteError("not an Ed25519 cosignature");
  return Number(new DataView(blob.buffer, blob.byteOffset).getBigUint64(4));
}

/**
 * Which of `witnesses` cosigned the checkpoint note `note` (text and signature lines, as
 * {@link parseNote} splits them): each witness counts once, however many of its lines there
 * are; a line whose name and key ID match a witness but whose signature fails is reported in
 * `invalid` (signed-note: such a note is malformed) rather than counted.
 */
export function cosigners(
  text: string,
  signatures: readonly NoteSignature[],
  witnesses: readonly CosignatureVerifier[],
): { names: string[]; invalid: string[] } {
  const body = encoder.encode(text);
  const names = new Set<string>();
  const invalid = new Set<string>();
  for (const sig of signatures) {
    const w = witnesses.find((v) => v.name === sig.name && v.keyHash === sig.keyHash);
    if (!w) continue;
    if (w.verify(body, fromBase64(sig.base64).subarray(4))) names.add(w.vkey);
    else invalid.add(w.vkey);
  }
  return { names: [...names], invalid: [...invalid] };
}
