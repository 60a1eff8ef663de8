/**
 * Client-side checks of what the AuditService serves (GetDecision's envelope + inclusion
 * proof + checkpoint, GetConsistencyProof), for the CLI and for tests against a live log.
 * Each check trusts only the published public keys.
 */
import { type Checkpoint, CheckpointError, checkpointVerifiers, openCheckpoint } from "./checkpoint.js";
import { type DsseEnvelope, entryLeafHash, RECORD_PAYLOAD_TYPE, verifyEnvelope } from "./dsse.js";
import type { KeyRing } from "./keys.js";
import { verifyConsistency, verifyInclusion } from "./merkle.js";

export type ProofCheck<T> = ({ ok: true } & T) | { ok: false; what: string };

function openSigned(note: string, origin: string, ring: KeyRing): Checkpoint | string {
  try {
    return openCheckpoint(
      note,
      checkpointVerifiers(
        origin,
        ring.list().map((k) => k.publicKeyRaw),
      ),
      origin,
    );
  } catch (err) {
    if (err instanceof CheckpointError) return `checkpoint: ${err.message}`;
    throw err;
  }
}

/**
 * Checks that `envelope` is signed by a key in `ring` and is entry `seq` of the log whose
 * signed checkpoint is `checkpoint`, by the RFC 9162 inclusion `proof`.
 */
export function verifyEntryInclusion(args: {
  envelope: DsseEnvelope;
  seq: number;
  proof: readonly Uint8Array[];
  checkpoint: string;
  origin: string;
  ring: KeyRing;
}): ProofCheck<{ payload: Uint8Array; checkpoint: Checkpoint }> {
  const sig = verifyEnvelope(args.envelope, args.ring, RECORD_PAYLOAD_TYPE);
  if (!sig.ok) return { ok: false, what: `signature: ${sig.reason}` };
  const included = verifyLeafInclusion({ ...args, leafHash: entryLeafHash(args.envelope) });
  if (!included.ok) return included;
  return { ok: true, payload: sig.payload, checkpoint: included.checkpoint };
}

/**
 * Checks that the leaf `leafHash` (a receipt's, GetInclusionProof's) is entry `seq` of the log
 * whose checkpoint, signed by a key in `ring` under `origin`, is `checkpoint`: RFC 9162 §2.1.3.2.
 */
export function verifyLeafInclusion(args: {
  leafHash: Uint8Array;
  seq: number;
  proof: readonly Uint8Array[];
  checkpoint: string;
  origin: string;
  ring: KeyRing;
}): ProofCheck<{ checkpoint: Checkpoint }> {
  const cp = openSigned(args.checkpoint, args.origin, args.ring);
  if (typeof cp === "string") return { ok: false, what: cp };
  if (args.seq >= cp.size)
    return { ok: false, what: `seq ${args.seq} is not below the checkpoint size ${cp.size}` };
  if (!verifyInclusion(args.leafHash, args.seq, cp.size, args.proof, cp.rootHash)) {
    return {
      ok: false,
      what: `inclusion proof of seq ${args.seq} in the tree of size ${cp.size} does not verify`,
    };
  }
  return { ok: true, checkpoint: cp };
}

/** Checks that the signed checkpoint `newer` extends `older` by the RFC 9162 consistency `proof`. */
export function verifyCheckpointConsistency(args: {
  older: string;
  newer: string;
  proof: readonly Uint8Array[];
  origin: string;
  ring: KeyRing;
}): ProofCheck<{ older: Checkpoint; newer: Checkpoint }> {
  const older = openSigned(args.older, args.origin, args.ring);
  if (typeof older === "string") return { ok: false, what: `older ${older}` };
  const newer = openSigned(args.newer, args.origin, args.ring);
  if (typeof newer === "string") return { ok: false, what: `newer ${newer}` };
  if (!verifyConsistency(older.size, newer.size, older.rootHash, newer.rootHash, args.proof)) {
    return { ok: false, what: `checkpoints of size ${older.size} and ${newer.size} are not consistent` };
  }
  return { ok: true, older, newer };
}
