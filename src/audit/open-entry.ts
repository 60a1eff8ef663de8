/**
 * The per-entry checks both verifiers (the whole log, and one tenant's export) share: the DSSE
 * signature against the trusted keys, the record's format, and — when asked — that each signing
 * key was valid at the record's time.
 */
import { RECORD_PAYLOAD_TYPE, verifyEnvelope } from "./dsse.js";
import type { KeyRing } from "./keys.js";
import { decodeRecord, RecordFormatError } from "./record.js";

export type OpenedEntry =
  | {
      ok: true;
      record: ReturnType<typeof decodeRecord>;
      /** Signing keys that were not valid at the record's time (checked only when enforced). */
      invalidKeys: string[];
    }
  | { ok: false; what: string };

export function openLoggedRecord(
  /** As read from the export: checked here, so of any shape. */
  envelope: unknown,
  ring: KeyRing,
  enforceKeyValidity: boolean | undefined,
): OpenedEntry {
  const v = verifyEnvelope(envelope, ring, RECORD_PAYLOAD_TYPE);
  if (!v.ok) return { ok: false, what: `signature: ${v.reason}` };
  let record: ReturnType<typeof decodeRecord>;
  try {
    record = decodeRecord(v.payload);
  } catch (err) {
    if (err instanceof RecordFormatError) return { ok: false, what: `record: ${err.message}` };
    throw err;
  }
  const invalidKeys = enforceKeyValidity ? v.keyIds.filter((id) => !ring.isValidAt(id, record.time_us)) : [];
  return { ok: true, record, invalidKeys };
}
