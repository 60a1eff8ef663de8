import type { Appended } from "./audit-log.js";
import { canonicalEnvelope, type DsseEnvelope, entryLeafHashOfCanonical, signEnvelope } from "./dsse.js";
import type { SignedEntry } from "./journal.js";
import type { SigningKey } from "./keys.js";

/** A record the audit log has queued, until its batch is committed (audit-log.ts). */
export interface Pending extends SignedEntry {
  envelope: DsseEnvelope;
  /** The key the record is signed with: the log's at append. */
  signer: SigningKey;
  /**
   * An outcome record not signed yet (`envelope`, `envelopeJson` and `leaf` unset): it is
   * signed on the next turn of the event loop, or when its batch is taken, whichever is first.
   */
  unsigned?: true;
  /** When it was queued (performance.now() ms). */
  queuedAt: number;
  /** Set when the hook refused its work (the refused form was signed and written). */
  refusal?: unknown;
  resolve: (a: Appended) => void;
  reject: (e: unknown) => void;
}

/** Signs (again) a record with its current tenant_seq. */
export function signPending(p: Pending): void {
  const payload = "payload" in p.req ? p.req.payload : p.req.encode(p.slot!.tenantSeq);
  p.envelope = signEnvelope(payload, p.signer);
  // Canonicalised once: the stored row and the Merkle leaf are the same bytes.
  p.envelopeJson = canonicalEnvelope(p.envelope);
  p.leaf = entryLeafHashOfCanonical(p.envelopeJson);
  p.unsigned = undefined;
}

/**
 * Signs the records of `batch` that are not signed yet; one that cannot be (its payload does
 * not encode) is rejected and left out, as when it was signed at append.
 */
export function signUnsigned(batch: Pending[]): Pending[] {
  let failed = false;
  for (const p of batch) {
    if (!p.unsigned) continue;
    try {
      signPending(p);
    } catch (err) {
      failed = true;
      p.reject(err);
    }
  }
  return failed ? batch.filter((p) => !p.unsigned) : batch;
}
