// DSSE v1 envelopes signed with Ed25519 (docs/audit.md §2), verified with WebCrypto against a
// key ring of pinned keys (keyring.js). PAE(type, body) = "DSSEv1" SP LEN(type) SP type SP
// LEN(body) SP body. The leaf hash covers the whole envelope: SHA-256(0x00 ‖ canonical JSON).
import { concatBytes, fromBase64, fromUtf8, sha256, utf8 } from "./bytes.js";
import { canonicalize } from "./canonical.js";

export const RECORD_PAYLOAD_TYPE = "application/vnd.sovereign-router.record+json;version=1";

/** The bytes a DSSE signature covers. */
export function pae(payloadType, payload) {
  const type = utf8(payloadType);
  return concatBytes(utf8(`DSSEv1 ${type.length} `), type, utf8(` ${payload.length} `), payload);
}

/** SHA-256(0x00 ‖ UTF-8 of the envelope's canonical JSON): the entry's Merkle leaf hash. */
export async function envelopeLeafHash(envelope) {
  return sha256(concatBytes(Uint8Array.of(0), utf8(canonicalize(envelope))));
}

/**
 * Verifies an envelope: the record payload type, at least one signature, every signature by a
 * pinned key (an unknown key fails, it is not skipped) and valid, and the payload a canonical
 * JSON object with integers only. Returns {ok, record?, keyIds?, reason?}.
 */
export async function verifyEnvelope(envelope, ring) {
  if (!envelope || typeof envelope !== "object") return { ok: false, reason: "envelope is not an object" };
  const { payloadType, payload, signatures } = envelope;
  if (payloadType !== RECORD_PAYLOAD_TYPE)
    return { ok: false, reason: `payloadType is not ${RECORD_PAYLOAD_TYPE}` };
  if (typeof payload !== "string") return { ok: false, reason: "payload is not a string" };
  if (!Array.isArray(signatures) || signatures.length === 0) return { ok: false, reason: "no signatures" };
  let body;
  try {
    body = fromBase64(payload);
  } catch {
    return { ok: false, reason: "payload is not standard base64" };
  }
  const message = pae(payloadType, body);
  const keyIds = [];
  for (const s of signatures) {
    const key = ring.get(s?.keyid);
    if (!key) return { ok: false, reason: `signed by key ${s?.keyid}, which is not pinned` };
    let sig;
    try {
      sig = fromBase64(s.sig);
    } catch {
      return { ok: false, reason: `signature by ${s.keyid} is not standard base64` };
    }
    if (!(await key.verify(message, sig))) return { ok: false, reason: `bad signature by key ${s.keyid}` };
    keyIds.push(s.keyid);
  }
  let text;
  let record;
  try {
    text = fromUtf8(body);
    record = JSON.parse(text);
  } catch {
    return { ok: false, reason: "payload is not UTF-8 JSON" };
  }
  try {
    if (canonicalize(record) !== text) return { ok: false, reason: "record is not in canonical form" };
  } catch (e) {
    return { ok: false, reason: `record: ${e.message}` };
  }
  return { ok: true, record, keyIds };
}
