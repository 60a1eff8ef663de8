/**
 * Receipts (docs/audit.md §9): the compact evidence of a decision a caller gets with every
 * answer, in the `x-sovr-receipt` header (HTTP) or header and trailer (gRPC) — as a TLS client
 * gets a Certificate Transparency SCT. It names the decision's log entry and repeats the
 * record's own DSSE signature: nothing is signed for it, so issuing one costs a few string
 * operations, and it holds no content (ids, a hash, a signature and the log's name).
 *
 *   v1.<decision id>.<seq>.<key id>.<leaf hash>.<signature>.<origin>
 *
 * `seq` is the entry's decimal sequence number (its Merkle leaf index); `key id` the signing
 * key's id (16 hex digits); `leaf hash` the entry's RFC 9162 leaf hash SHA-256(0x00 ‖ canonical
 * envelope JSON), `signature` the envelope's 64-byte Ed25519 signature by that key, and `origin`
 * the log's checkpoint origin — these three base64url without padding (RFC 4648 §5), so the
 * receipt is one token of header-safe characters whatever the origin holds.
 *
 * Checked against the record and pinned keys ({@link verifyReceipt}): the record's envelope
 * carries exactly that signature, it verifies by a pinned key, its leaf hash is the receipt's,
 * and it is the decision the receipt names. With GetInclusionProof the caller then shows the
 * entry is in the log a signed checkpoint covers.
 */
import { isUuidv7 } from "../encoding/index.js";
import { type DsseEnvelope, entryLeafHash, RECORD_PAYLOAD_TYPE, verifyEnvelope } from "./dsse.js";
import type { KeyRing } from "./keys.js";
import { equalBytes } from "./merkle.js";
import type { ProofCheck } from "./proofs.js";
import { decodeRecord, RecordFormatError, type RecordHeader } from "./record.js";

/** The header (HTTP) and metadata key (gRPC) a receipt travels in. */
export const RECEIPT_HEADER = "x-sovr-receipt";

const VERSION = "v1";

export interface Receipt {
  decisionId: string;
  seq: number;
  keyId: string;
  /** SHA-256(0x00 ‖ canonical envelope JSON): the entry's Merkle leaf hash. */
  leafHash: Uint8Array;
  /** The record's Ed25519 signature by `keyId` (the envelope's, not a new one). */
  signature: Uint8Array;
  origin: string;
}

/** A receipt that is not one (the message says which part, never echoing it). */
export class ReceiptFormatError extends Error {
  override readonly name = "ReceiptFormatError";
}

/** What the log returns for an appended record. */
export interface AppendedEntry {
  seq: number;
  leafHash: Uint8Array;
  envelope: DsseEnvelope;
}

const b64url = (b: Uint8Array) => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString("base64url");

/** Standard base64 (the envelope's) to base64url without padding: a character swap, no decoding. */
const toUrlAlphabet = (std: string) => std.replace(/=+$/, "").replace(/\+/g, "-").replace(/\//g, "_");

/**
 * Issues receipts for the log of `origin`: the origin is encoded once, and each receipt is a
 * few string operations over what the append already returned (no hashing, no signing).
 */
export function receiptIssuer(origin: string): (decisionId: string, entry: AppendedEntry) => string {
  const o = Buffer.from(origin, "utf8").toString("base64url");
  return (decisionId, entry) => {
    const s = entry.envelope.signatures[0];
    if (!s) throw new Error("an envelope without a signature has no receipt");
    return `${VERSION}.${decisionId}.${entry.seq}.${s.keyid}.${b64url(entry.leafHash)}.${toUrlAlphabet(s.sig)}.${o}`;
  };
}

/** The receipt's text (what {@link receiptIssuer} produces) from its parts. */
export function encodeReceipt(r: Receipt): string {
  const o = Buffer.from(r.origin, "utf8").toString("base64url");
  return `${VERSION}.${r.decisionId}.${r.seq}.${r.keyId}.${b64url(r.leafHash)}.${b64url(r.signature)}.${o}`;
}

const B64URL = /^[A-Za-z0-9_-]+$/;

function bytesOf(part: string, what: string, size?: number): Uint8Array {
  if (!B64URL.test(part)) throw new ReceiptFormatError(`${what} is not base64url`);
  const b = new Uint8Array(Buffer.from(part, "base64url"));
  // Canonical base64url only: re-encoding gives the same text (no stray bits, no padding).
  if (b64url(b) !== part) throw new ReceiptFormatError(`${what} is not canonical base64url`);
  if (size !== undefined && b.length !== size) throw new ReceiptFormatError(`${what} is not ${size} bytes`);
  return b;
}

/** Parses a receipt strictly; a {@link ReceiptFormatError} names the part at fault. */
export function parseReceipt(text: string): Receipt {
  const parts = text.trim().split(".");
  if (parts[0] !== VERSION)
    throw new ReceiptFormatError(`not a receipt of version ${VERSION} (it must start with "${VERSION}.")`);
  if (parts.length !== 7) throw new ReceiptFormatError(`a ${VERSION} receipt has 7 dot-separated parts`);
  const [, decisionId, seq, keyId, leaf, sig, origin] = parts as [string, ...string[]];
  if (!isUuidv7(decisionId!)) throw new ReceiptFormatError("decision id is not a UUIDv7");
  if (!/^(0|[1-9][0-9]{0,15})$/.test(seq!) || !Number.isSafeInteger(Number(seq)))
    throw new ReceiptFormatError("seq is not a sequence number");
  if (!/^[0-9a-f]{16}$/.test(keyId!)) throw new ReceiptFormatError("key id is not 16 hex digits");
  const o = Buffer.from(bytesOf(origin!, "origin")).toString("utf8");
  return {
    decisionId: decisionId!,
    seq: Number(seq),
    keyId: keyId!,
    leafHash: bytesOf(leaf!, "leaf hash", 32),
    signature: bytesOf(sig!, "signature", 64),
    origin: o,
  };
}

/** A record's log entry as the caller holds it: the envelope, and its `seq` when known. */
export interface ReceiptEntry {
  envelope: DsseEnvelope;
  seq?: number;
}

/**
 * Checks `receipt` against the decision record's log entry and the pinned keys (`ring`, with
 * the pinned `origin` when the pin names one). Passes only when the receipt is the entry's:
 * same decision, same signature (which verifies, by a pinned key),
 * same leaf hash, same seq and origin. Says what differs otherwise; never throws for bad input.
 */
export function verifyReceipt(
  receipt: string,
  entry: ReceiptEntry,
  trusted: { ring: KeyRing; origin?: string },
): ProofCheck<{ receipt: Receipt; record: RecordHeader }> {
  let r: Receipt;
  try {
    r = parseReceipt(receipt);
  } catch (err) {
    if (err instanceof ReceiptFormatError) return { ok: false, what: `receipt: ${err.message}` };
    throw err;
  }
  if (trusted.origin !== undefined && !sameLog(r.origin, trusted.origin))
    return {
      ok: false,
      what: `receipt: log origin "${r.origin}" is not the pinned origin "${trusted.origin}"`,
    };
  if (!trusted.ring.has(r.keyId))
    return { ok: false, what: `receipt: signed by key ${r.keyId}, which is not among the trusted keys` };
  const v = verifyEnvelope(entry.envelope, trusted.ring, RECORD_PAYLOAD_TYPE);
  if (!v.ok) return { ok: false, what: `record: signature: ${v.reason}` };
  const same = entry.envelope.signatures.some(
    (s) => s.keyid === r.keyId && toUrlAlphabet(s.sig) === b64url(r.signature),
  );
  if (!same) return { ok: false, what: "receipt: its signature is not the record's signature" };
  if (!equalBytes(entryLeafHash(entry.envelope), r.leafHash))
    return {
      ok: false,
      what: "receipt: its leaf hash is not the record's (the record or the receipt was altered)",
    };
  let record: RecordHeader;
  try {
    record = decodeRecord(v.payload);
  } catch (err) {
    if (err instanceof RecordFormatError) return { ok: false, what: `record: ${err.message}` };
    throw err;
  }
  if (record.kind !== "decision" || record.decision_id !== r.decisionId)
    return { ok: false, what: `receipt: names decision ${r.decisionId}, the record is another` };
  if (entry.seq !== undefined && entry.seq !== r.seq)
    return { ok: false, what: `receipt: names seq ${r.seq}, the record is entry ${entry.seq}` };
  return { ok: true, receipt: r, record };
}

/**
 * Whether `origin` is the pinned log's: the pinned origin itself, or, for a sharded log (docs/
 * audit.md §10), one of its shards' — `<log origin>/shard-<k>` — when the pin names the log or
 * one of its shards (`sovr audit keys` pins shard 0's).
 */
export function sameLog(origin: string, pinned: string): boolean {
  if (origin === pinned) return true;
  const base = (o: string) => /^(.*)\/shard-\d+$/.exec(o)?.[1];
  const b = base(origin);
  return b !== undefined && (b === pinned || b === base(pinned));
}
