/**
 * Standard base64 (RFC 4648 §4, with padding), decoded strictly: Node's `Buffer.from(s,
 * "base64")` silently skips junk and accepts base64url, which a verifier must not.
 */

const STRICT = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

export function toBase64(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("base64");
}

/** Decodes canonical standard base64; throws a TypeError on anything else. */
export function fromBase64(text: string): Uint8Array {
  if (!STRICT.test(text)) throw new TypeError("not standard base64");
  const bytes = new Uint8Array(Buffer.from(text, "base64"));
  // Reject non-zero padding bits, so that every byte string has exactly one encoding.
  if (toBase64(bytes) !== text) throw new TypeError("not canonical base64");
  return bytes;
}
