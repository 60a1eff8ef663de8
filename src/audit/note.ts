/**
 * C2SP signed notes (c2sp.org/signed-note), Ed25519 signature type 0x01 — the format of
 * golang.org/x/mod/sumdb/note, byte for byte.
 *
 *   <text, ending in "\n">
 *   <blank line>
 *   — <key name> base64(4-byte key hash ‖ 64-byte Ed25519 signature over the text)
 *
 * key hash = first 4 bytes (big-endian uint32) of SHA-256(name ‖ "\n" ‖ 0x01 ‖ raw public key).
 */
import { createHash } from "node:crypto";
import { fromBase64, toBase64 } from "../encoding/index.js";
import type { SigningKey } from "./keys.js";
import { ED25519_PUBLIC_KEY_SIZE, verifyEd25519 } from "./keys.js";

const ALG_ED25519 = 0x01;
const SIG_PREFIX = "\u2014 ";
/** golang.org/x/mod/sumdb/note's limit; the spec requires accepting at least 16. */
const MAX_SIGNATURES = 100;

export class NoteError extends Error {
  override readonly name = "NoteError";
}

export interface NoteSignature {
  name: string;
  keyHash: number;
  /** The base64 as written in the note (key hash ‖ signature). */
  base64: string;
}

export interface NoteSigner {
  name: string;
  keyHash: number;
  sign(text: Uint8Array): Uint8Array;
}

export interface NoteVerifier {
  name: string;
  keyHash: number;
  verify(text: Uint8Array, signature: Uint8Array): boolean;
}

const encoder = new TextEncoder();

/** Key names are non-empty, without Unicode spaces or "+". */
export function isValidKeyName(name: string): boolean {
  return name.length > 0 && !/[\s+]/u.test(name) && !hasControl(name) && isWellFormed(name);
}

/** No lone surrogates (with the u flag, a paired surrogate is one code point and does not match). */
function isWellFormed(s: string): boolean {
  return !/[\uD800-\uDFFF]/u.test(s);
}

function hasControl(s: string): boolean {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point
  return /[\u0000-\u0009\u000b-\u001f]/.test(s);
}

/** SHA-256(name ‖ 0x0A ‖ 0x01 ‖ public key)[:4] as a big-endian uint32. */
export function ed25519KeyHash(name: string, publicKeyRaw: Uint8Array): number {
  const h = createHash("sha256")
    .update(encoder.encode(name))
    .update(Uint8Array.of(0x0a, ALG_ED25519))
    .update(publicKeyRaw)
    .digest();
  return h.readUInt32BE(0);
}

/** A note signer for `key` under key name `name`. */
export function noteSigner(name: string, key: SigningKey): NoteSigner {
  if (!isValidKeyName(name)) throw new NoteError(`invalid key name ${JSON.stringify(name)}`);
  return { name, keyHash: ed25519KeyHash(name, key.publicKeyRaw), sign: (text) => key.sign(text) };
}

/** A note verifier for an Ed25519 public key under key name `name`. */
export function noteVerifier(name: string, publicKeyRaw: Uint8Array): NoteVerifier {
  if (!isValidKeyName(name)) throw new NoteError(`invalid key name ${JSON.stringify(name)}`);
  if (publicKeyRaw.length !== ED25519_PUBLIC_KEY_SIZE)
    throw new NoteError("Ed25519 public key must be 32 bytes");
  const key = publicKeyRaw.slice();
  return {
    name,
    keyHash: ed25519KeyHash(name, key),
    verify: (text, signature) => verifyEd25519(key, text, signature),
  };
}

/**
 * The verifier key string used by Go's note package and transparency-dev tooling:
 * `<name>+<key hash, 8 hex>+<base64(0x01 ‖ public key)>`.
 */
export function formatVerifierKey(name: string, publicKeyRaw: Uint8Array): string {
  const v = noteVerifier(name, publicKeyRaw);
  const encoded = new Uint8Array(1 + publicKeyRaw.length);
  encoded[0] = ALG_ED25519;
  encoded.set(publicKeyRaw, 1);
  return `${name}+${v.keyHash.toString(16).padStart(8, "0")}+${toBase64(encoded)}`;
}

/** Parses a verifier key string (see {@link formatVerifierKey}), checking its key hash. */
export function parseVerifierKey(vkey: string): NoteVerifier {
  const m = /^([^+]+)\+([0-9a-f]{8})\+([A-Za-z0-9+/=]+)$/.exec(vkey);
  if (!m) throw new NoteError("malformed verifier key");
  const [, name, hashHex, b64] = m as unknown as [string, string, string, string];
  let encoded: Uint8Array;
  try {
    encoded = fromBase64(b64);
  } catch {
    throw new NoteError("malformed verifier key");
  }
  if (encoded.length !== 1 + ED25519_PUBLIC_KEY_SIZE || encoded[0] !== ALG_ED25519) {
    throw new NoteError("verifier key is not an Ed25519 key");
  }
  const v = noteVerifier(name, encoded.subarray(1));
  if (v.keyHash !== Number.parseInt(hashHex, 16))
    throw new NoteError("verifier key hash does not match the key");
  return v;
}

/** Signs `text` (which must end in a newline) with each signer: the full signed note. */
export function signNote(text: string, signers: readonly NoteSigner[]): string {
  checkText(text);
  if (signers.length === 0) throw new NoteError("signNote needs at least one signer");
  const body = encoder.encode(text);
  let out = `${text}\n`;
  for (const s of signers) {
    const sig = s.sign(body);
    const blob = new Uint8Array(4 + sig.length);
    new DataView(blob.buffer).setUint32(0, s.keyHash);
    blob.set(sig, 4);
    out += `${SIG_PREFIX}${s.name} ${toBase64(blob)}\n`;
  }
  return out;
}

function checkText(text: string): void {
  if (!text.endsWith("\n")) throw new NoteError("malformed note: text must end in a newline");
  if (hasControl(text) || !isWellFormed(text)) throw new NoteError("malformed note: control characters");
}

/** Splits a signed note into its text and signature lines without verifying anything. */
export function parseNote(msg: string): { text: string; signatures: NoteSignature[] } {
  if (hasControl(msg) || !isWellFormed(msg)) throw new NoteError("malformed note: control characters");
  const split = msg.lastIndexOf("\n\n");
  if (split < 0) throw new NoteError("malformed note: no blank line before signatures");
  const text = msg.slice(0, split + 1);
  const sigText = msg.slice(split + 2);
  if (sigText === "" || !sigText.endsWith("\n")) throw new NoteError("malformed note: no signatures");
  const lines = sigText.slice(0, -1).split("\n");
  if (lines.length > MAX_SIGNATURES) throw new NoteError("malformed note: too many signatures");
  const signatures = lines.map((line): NoteSignature => {
    if (!line.startsWith(SIG_PREFIX)) throw new NoteError("malformed note: bad signature line");
    const rest = line.slice(SIG_PREFIX.length);
    const space = rest.indexOf(" ");
    const name = rest.slice(0, space);
    const b64 = rest.slice(space + 1);
    if (space < 0 || !isValidKeyName(name)) throw new NoteError("malformed note: bad key name");
    let blob: Uint8Array;
    try {
      blob = fromBase64(b64);
    } catch {
      throw new NoteError("malformed note: signature is not base64");
    }
    if (blob.length < 5) throw new NoteError("malformed note: signature too short");
    const keyHash = new DataView(blob.buffer, blob.byteOffset).getUint32(0);
    return { name, keyHash, base64: b64 };
  });
  return { text, signatures };
}

/**
 * Parses and verifies a signed note (C2SP signed-note §Signatures): signatures from unknown
 * keys (name and hash not both known) are ignored; a known key's signature that fails rejects
 * the whole note; at least one known signature must verify.
 */
export function openNote(
  msg: string,
  verifiers: readonly NoteVerifier[],
): { text: string; verified: NoteSignature[]; unverified: NoteSignature[] } {
  const { text, signatures } = parseNote(msg);
  const body = encoder.encode(text);
  const verified: NoteSignature[] = [];
  const unverified: NoteSignature[] = [];
  for (const sig of signatures) {
    const matches = verifiers.filter((v) => v.name === sig.name && v.keyHash === sig.keyHash);
    if (matches.length > 1) throw new NoteError(`ambiguous key ${sig.name}+${hex8(sig.keyHash)}`);
    const v = matches[0];
    if (!v) {
      unverified.push(sig);
      continue;
    }
    if (!v.verify(body, fromBase64(sig.base64).subarray(4))) {
      throw new NoteError(`invalid signature for key ${sig.name}+${hex8(sig.keyHash)}`);
    }
    verified.push(sig);
  }
  if (verified.length === 0) throw new NoteError("note has no verifiable signatures");
  return { text, verified, unverified };
}

function hex8(n: number): string {
  return n.toString(16).padStart(8, "0");
}
