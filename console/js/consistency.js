// A checkpoint the auditor kept from earlier (pasted, or the last one seen in this session)
// against the log's latest: both signed by pinned keys, and the RFC 9162 consistency proof the
// server gives (GetConsistencyProof) verified here — the latest tree extends the kept one. A cut
// or rewritten log, or one view shown to this auditor and another to others, fails it.
import { connectBytes } from "../lib/entry.js";
import { verifyConsistencyProof } from "../lib/merkle.js";
import { openCheckpointNote } from "../lib/note.js";
import { call } from "./api.js";

/** {ok, why?, size?}: is `latest` (an opened checkpoint) consistent with the signed note `keptNote`? */
export async function consistentWithKept(keptNote, latest, ring) {
  let kept;
  try {
    kept = await openCheckpointNote(keptNote, ring);
  } catch (e) {
    return { ok: false, why: `kept checkpoint: ${e.message}` };
  }
  if (kept.origin !== latest.origin) return { ok: false, why: `kept checkpoint is of log ${kept.origin}` };
  if (kept.size > latest.size)
    return {
      ok: false,
      why: `the kept checkpoint covers ${kept.size} records but the log's latest covers ${latest.size}: the log was cut — a fork`,
    };
  const res =
    kept.size === latest.size
      ? { hashes: [] }
      : await call("AuditService", "GetConsistencyProof", { firstSize: kept.size, secondSize: latest.size });
  const ok = await verifyConsistencyProof(
    kept.size,
    latest.size,
    kept.root,
    latest.root,
    (res.hashes ?? []).map(connectBytes),
  );
  return ok
    ? { ok: true, size: kept.size }
    : {
        ok: false,
        why: `the log's tree at size ${latest.size} does not extend the kept checkpoint (size ${kept.size}): the log was rewritten, or this is another view of it`,
      };
}
