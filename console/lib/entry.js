// One log entry as the AuditService serves it (GetDecision: envelope, inclusion proof, signed
// checkpoint; Connect JSON), verified in the browser against a key ring: the DSSE signature,
// the leaf hash recomputed from the envelope, the checkpoint's signature and the RFC 9162 proof
// from that leaf to the checkpoint's root. Nothing the server computed is believed.
import { equalBytes, fromBase64, toBase64 } from "./bytes.js";
import { envelopeLeafHash, verifyEnvelope } from "./dsse.js";
import { verifyInclusionProof } from "./merkle.js";
import { openCheckpointNote } from "./note.js";

/** The DSSE JSON envelope of a Connect JSON `Envelope` message (bytes are base64 in both). */
export function dsseFromConnect(env) {
  return {
    payload: normalBase64(env?.payload ?? ""),
    payloadType: env?.payloadType ?? "",
    signatures: (env?.signatures ?? []).map((s) => ({
      keyid: s.keyid ?? "",
      sig: normalBase64(s.sig ?? ""),
    })),
  };
}

/** Connect may write base64url or unpadded base64; the envelope's form is standard, padded. */
function normalBase64(s) {
  const std = s.replace(/-/g, "+").replace(/_/g, "/");
  return std + "=".repeat((4 - (std.length % 4)) % 4);
}

/** Decodes a Connect JSON `bytes` field. */
export function connectBytes(s) {
  return fromBase64(normalBase64(s ?? ""));
}

/**
 * Verifies one served entry. `entry` is a LogEntry (seq, envelope), `proof` an InclusionProof
 * (leafIndex, treeSize, hashes), `checkpoint` a Checkpoint (signedNote). Returns
 * {record, signature: {ok, why, keyIds}, inclusion: {ok, why, size, keyId}, leafHash}.
 */
export async function verifyServedEntry(entry, proof, checkpoint, ring) {
  const envelope = dsseFromConnect(entry?.envelope);
  const sig = await verifyEnvelope(envelope, ring);
  const signature = sig.ok ? { ok: true, keyIds: sig.keyIds } : { ok: false, why: sig.reason };
  const leaf = await envelopeLeafHash(envelope);
  const inclusion = await verifyInclusion(entry, proof, checkpoint, ring, leaf);
  return { record: sig.record ?? decodeUnverified(envelope), signature, inclusion, leafHash: toBase64(leaf) };
}

async function verifyInclusion(entry, proof, checkpoint, ring, leaf) {
  if (!proof || !checkpoint?.signedNote)
    return { ok: false, pending: true, why: "no checkpoint covers this record yet" };
  let cp;
  try {
    cp = await openCheckpointNote(checkpoint.signedNote, ring);
  } catch (e) {
    return { ok: false, why: e.message };
  }
  const seq = Number(entry?.seq ?? 0);
  const index = Number(proof.leafIndex ?? 0);
  const size = Number(proof.treeSize ?? 0);
  if (index !== seq) return { ok: false, why: `the proof is for leaf ${index}, the entry is seq ${seq}` };
  if (size !== cp.size)
    return { ok: false, why: `the proof is to size ${size}, the checkpoint's is ${cp.size}` };
  if (entry?.leafHash && !equalBytes(connectBytes(entry.leafHash), leaf))
    return { ok: false, why: "the served leaf hash is not the envelope's" };
  const hashes = (proof.hashes ?? []).map(connectBytes);
  const ok = await verifyInclusionProof(index, size, leaf, hashes, cp.root);
  return ok
    ? { ok: true, size: cp.size, keyId: cp.keyId, root: toBase64(cp.root) }
    : {
        ok: false,
        why: `the proof does not lead from this envelope to the checkpoint's root (size ${cp.size})`,
      };
}

/** The record of an envelope that failed verification, shown marked as unverified. */
function decodeUnverified(envelope) {
  try {
    return JSON.parse(new TextDecoder().decode(fromBase64(envelope.payload)));
  } catch {
    return undefined;
  }
}
