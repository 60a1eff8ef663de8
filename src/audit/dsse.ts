/**
 * DSSE v1 envelopes (secure-systems-lab/dsse, "envelope.md" and "protocol.md") signed with
 * Ed25519. The signature covers PAE(payloadType, payload), never the JSON around it:
 *
 *   PAE(type, body) = "DSSEv1" SP LEN(type) SP type SP LEN(body) SP body
 *
 * where LEN is the ASCII decimal byte length and SP a single space.
 */
import { canonicalize, fromBase64, toBase64 } from "../encoding/index.js";
import type { KeyRing, SigningKey } from "./keys.js";
import { leafHash, leafHashOfUtf8 } from "./merkle.js";

/** payloadType of a decision or outcome record, format v1 (canonical JSON, see record.ts). */
export const RECORD_PAYLOAD_TYPE = "application/vnd.sovereign-router.record+json;version=1";

export interface DsseSignature {
  keyid: string;
  /** Standard base64 of the 64-byte Ed25519 signature. */
  sig: string;
}

/** The JSON form of a DSSE envelope. */
export interface DsseEnvelope {
  payloadType: string;
  /** Standard base64 of the payload bytes. */
  payload: string;
  signatures: DsseSignature[];
}

const encoder = new TextEncoder();

/** `DSSEv1 LEN(type) type` per payload type (a log signs one or two types, over and over). */
const paeHeads = new Map<string, Uint8Array>();

/** Pre-Authentication Encoding: the bytes actually signed. */
export function pae(payloadType: string, payload: Uint8Array): Uint8Array {
  let head = paeHeads.get(payloadType);
  if (head === undefined) {
    const type = encoder.encode(payloadType);
    head = encoder.encode(`DSSEv1 ${type.length} ${payloadType}`);
    if (paeHeads.size < 16) paeHeads.set(payloadType, head);
  }
  const mid = encoder.encode(` ${payload.length} `);
  const out = new Uint8Array(head.length + mid.length + payload.length);
  out.set(head, 0);
  out.set(mid, head.length);
  out.set(payload, head.length + mid.length);
  return out;
}

/** Signs `payload` with each key (usually one), producing an envelope. */
export function signEnvelope(
  payload: Uint8Array,
  keys: SigningKey | readonly SigningKey[],
  payloadType: string = RECORD_PAYLOAD_TYPE,
): DsseEnvelope {
  const signers = Array.isArray(keys) ? keys : [keys as SigningKey];
  if (signers.length === 0) throw new Error("signEnvelope needs at least one key");
  const message = pae(payloadType, payload);
  return {
    payloadType,
    payload: toBase64(payload),
    signatures: signers.map((k) => ({ keyid: k.keyId, sig: toBase64(k.sign(message)) })),
  };
}

export type EnvelopeVerification =
  | { ok: true; payload: Uint8Array; keyIds: string[] }
  | { ok: false; reason: string; keyId?: string };

/**
 * Verifies an envelope (the parsed JSON, any shape) against a key ring.
 *
 * Stricter than DSSE's threshold rule, because this log has one signer per record: there must
 * be at least one signature, every signature must name a key in the ring (an unknown key is an
 * error, not something to skip) and every signature must verify. The payload type must equal
 * `expectedType` (default {@link RECORD_PAYLOAD_TYPE}).
 */
export function verifyEnvelope(
  envelope: unknown,
  ring: KeyRing,
  expectedType: string = RECORD_PAYLOAD_TYPE,
): EnvelopeVerification {
  const shape = checkShape(envelope);
  if (typeof shape === "string") return { ok: false, reason: shape };
  if (shape.payloadType !== expectedType) {
    return { ok: false, reason: `payloadType ${JSON.stringify(shape.payloadType)} is not ${expectedType}` };
  }
  let payload: Uint8Array;
  try {
    payload = fromBase64(shape.payload);
  } catch {
    return { ok: false, reason: "payload is not standard base64" };
  }
  const message = pae(shape.payloadType, payload);
  const keyIds: string[] = [];
  for (const s of shape.signatures) {
    if (!ring.has(s.keyid)) return { ok: false, reason: `signed by unknown key ${s.keyid}`, keyId: s.keyid };
    let sig: Uint8Array;
    try {
      sig = fromBase64(s.sig);
    } catch {
      return { ok: false, reason: `signature by ${s.keyid} is not standard base64`, keyId: s.keyid };
    }
    if (!ring.verify(s.keyid, message, sig)) {
      return { ok: false, reason: `bad signature by key ${s.keyid}`, keyId: s.keyid };
    }
    keyIds.push(s.keyid);
  }
  return { ok: true, payload, keyIds };
}

/** The envelope's fields if it has the DSSE JSON shape, else a reason. */
function checkShape(e: unknown): DsseEnvelope | string {
  if (e === null || typeof e !== "object" || Array.isArray(e)) return "envelope is not a JSON object";
  const { payloadType, payload, signatures } = e as Record<string, unknown>;
  if (typeof payloadType !== "string") return "envelope.payloadType is not a string";
  if (typeof payload !== "string") return "envelope.payload is not a string";
  if (!Array.isArray(signatures) || signatures.length === 0) return "envelope has no signatures";
  for (const s of signatures) {
    if (s === null || typeof s !== "object") return "envelope.signatures has a non-object";
    const { keyid, sig } = s as Record<string, unknown>;
    if (typeof keyid !== "string" || typeof sig !== "string")
      return "envelope signature without keyid or sig";
  }
  return { payloadType, payload, signatures: signatures as DsseSignature[] };
}

/** The payload bytes of an envelope, without verifying anything. */
export function envelopePayload(envelope: DsseEnvelope): Uint8Array {
  return fromBase64(envelope.payload);
}

/**
 * {@link canonicalize} of an envelope of exactly the DSSE shape (what {@link signEnvelope}
 * makes), written out: members in RFC 8785 order (`payload` < `payloadType` < `signatures`,
 * `keyid` < `sig`), strings as JSON.stringify writes them, so the same text.
 */
export function canonicalEnvelope(e: DsseEnvelope): string {
  let sigs = "";
  for (const s of e.signatures)
    sigs += `${sigs === "" ? "" : ","}{"keyid":${JSON.stringify(s.keyid)},"sig":${JSON.stringify(s.sig)}}`;
  return `{"payload":${JSON.stringify(e.payload)},"payloadType":${JSON.stringify(e.payloadType)},"signatures":[${sigs}]}`;
}

/**
 * The bytes of a log entry: UTF-8 of the envelope's RFC 8785 canonical JSON. The Merkle leaf
 * covers the whole envelope, signatures included, so the log commits to exactly what was signed
 * and by which key.
 */
export function envelopeBytes(envelope: DsseEnvelope): Uint8Array {
  return new TextEncoder().encode(canonicalize(envelope));
}

/** The Merkle leaf hash of a log entry: SHA-256(0x00 ‖ {@link envelopeBytes}). */
export function entryLeafHash(envelope: DsseEnvelope): Uint8Array {
  return leafHash(envelopeBytes(envelope));
}

/** {@link entryLeafHash} from the envelope's canonical JSON, for callers that already have it. */
export function entryLeafHashOfCanonical(envelopeJson: string): Uint8Array {
  return leafHashOfUtf8(envelopeJson);
}
