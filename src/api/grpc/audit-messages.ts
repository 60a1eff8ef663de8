/** Wire messages of the AuditService built from stored log entries, keys and checkpoints. */
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import type { PublicKeyInfo, StoredCheckpoint, StoredEntry } from "../../audit/index.js";
import { fromBase64 } from "../../encoding/index.js";
import { RecordKind } from "../../gen/sovereign/v1/audit_pb.js";

const KINDS: Record<StoredEntry["kind"], RecordKind> = {
  decision: RecordKind.DECISION,
  outcome: RecordKind.OUTCOME,
  admin: RecordKind.ADMIN,
};

export function toLogEntry(e: StoredEntry) {
  return {
    seq: BigInt(e.seq),
    kind: KINDS[e.kind],
    decisionId: e.decisionId,
    time: timestampFromDate(e.recordedAt),
    envelope: {
      payloadType: e.envelope.payloadType,
      payload: fromBase64(e.envelope.payload),
      signatures: e.envelope.signatures.map((s) => ({ keyid: s.keyid, sig: fromBase64(s.sig) })),
    },
    leafHash: e.leafHash,
  };
}

export function keyMessage(k: PublicKeyInfo) {
  return {
    keyId: k.keyId,
    algorithm: "ed25519",
    publicKey: k.publicKeyRaw,
    validFrom: timestampFromDate(new Date(Math.floor(k.validFromUs / 1000))),
    validUntil:
      k.validUntilUs === null ? undefined : timestampFromDate(new Date(Math.floor(k.validUntilUs / 1000))),
  };
}

/** A checkpoint as served, with the witnesses' cosignature lines stored for it. */
export function checkpointMessage(
  origin: string,
  cp: StoredCheckpoint,
  cosignatures: readonly string[] = [],
) {
  return {
    origin,
    size: BigInt(cp.size),
    rootHash: cp.rootHash,
    time: timestampFromDate(cp.createdAt),
    signedNote: cp.signedNote,
    cosignatures: [...cosignatures],
  };
}
