/**
 * Offline verification of a tenant-scoped export (export-format.ts): one tenant's entries, each
 * with an inclusion proof to the export's one signed checkpoint. What `sovr audit verify DIR`
 * runs when keys.json names a scope. Stopping at the first failure:
 *
 * 1. checkpoints.jsonl holds one checkpoint, signed by a key in keys.json under the origin.
 * 2. records.jsonl, entry by entry: `seq` increasing, at least `from_seq`, below the checkpoint
 *    size; the envelope signed by a key in keys.json; the payload a record in canonical form;
 *    the record the scope's tenant's (a decision's `principal.tenant`, a v2 outcome's `tenant`,
 *    a v1 outcome through its decision); one decision per id, each outcome after its decision;
 *    the inclusion proof (leaf index = seq, tree size = the checkpoint's) leads from the entry's
 *    leaf to the checkpoint's root; and tenant_seq dense (tenant-seq-check.ts): from 1 when the
 *    export starts at the beginning of the log, else from wherever its first record stands.
 * 3. (by the caller, verifier.ts) the catalog revisions the records refer to, noted in `refs`.
 *
 * What this proves: every exported record is the log's, at its place, under a checkpoint the
 * log signed, and none of the tenant's v2 records between the first and the last exported is
 * missing. What it cannot: that records after the last exported one were not cut (the newest
 * records of the tenant, with no later record to show the gap) — only an earlier export or
 * checkpoint the auditor kept shows that, and only back to what it covered.
 */
import { join } from "node:path";
import { fromBase64, toBase64 } from "../encoding/index.js";
import { type Checkpoint, CheckpointError, checkpointVerifiers, openCheckpoint } from "./checkpoint.js";
import { type DsseEnvelope, entryLeafHash } from "./dsse.js";
import type { CatalogReferences } from "./export-catalogs.js";
import { CHECKPOINTS_FILE, type ExportScope, RECORDS_FILE, readLines } from "./export-format.js";
import type { KeyRing } from "./keys.js";
import { verifyInclusion } from "./merkle.js";
import { openLoggedRecord } from "./open-entry.js";
import { recordTenant } from "./record.js";
import { TenantSeqCheck } from "./tenant-seq-check.js";
import type { VerifyError, VerifyOptions, VerifyResult } from "./verifier.js";

/** What the verification reports as it goes (see {@link VerifyResult}). */
export type TenantVerifyState = Omit<VerifyResult, "ok" | "firstError">;

/**
 * Verifies `dir` as an export of `scope.tenant`'s records, filling `state` as it goes; calls
 * `fail` (which throws) at the first failure.
 */
export async function verifyTenantExport(
  dir: string,
  origin: string,
  ring: KeyRing,
  scope: ExportScope,
  opts: VerifyOptions,
  state: TenantVerifyState,
  fail: (detail: VerifyError) => never,
  refs: CatalogReferences,
): Promise<void> {
  const cp = await readCheckpoint(dir, origin, ring, fail);
  if (cp) {
    state.checkpoints = 1;
    state.checkpointedSize = cp.size;
    state.rootHash = toBase64(cp.rootHash);
  }
  const sequence = new TenantSeqCheck(scope.from_seq === 0);
  // decision id → outcome seen yet
  const decisions = new Map<string, boolean>();
  const every = opts.progressEvery ?? 10_000;
  let prev = -1;
  let line = 0;
  for await (const text of readLines(join(dir, RECORDS_FILE))) {
    line++;
    let entry: { seq?: unknown; envelope?: unknown; proof?: unknown };
    try {
      entry = JSON.parse(text);
    } catch {
      return fail({ what: `${RECORDS_FILE} line ${line} is not JSON` });
    }
    const seq = entry?.seq;
    if (typeof seq !== "number" || !Number.isSafeInteger(seq))
      return fail({ what: `${RECORDS_FILE} line ${line} has no seq` });
    if (seq <= prev) fail({ seq, what: `sequence out of order: seq ${seq} after seq ${prev}` });
    if (seq < scope.from_seq)
      fail({ seq, what: `seq ${seq} is before the export's from_seq ${scope.from_seq}` });
    if (!cp) return fail({ seq, what: `no checkpoint: the records cannot be shown to be the log's` });
    if (seq >= cp.size) fail({ seq, what: `seq ${seq} is not below the checkpoint size ${cp.size}` });
    prev = seq;

    const opened = openLoggedRecord(entry.envelope, ring, opts.enforceKeyValidity);
    if (!opened.ok) return fail({ seq, what: opened.what });
    for (const id of opened.invalidKeys)
      fail({ seq, what: `signature: key ${id} was not valid at the record's time` });
    const { record } = opened;

    const tenant = recordTenant(record);
    if (tenant !== undefined && tenant !== scope.tenant)
      fail({ seq, what: `record of tenant ${tenant} in an export of tenant ${scope.tenant}` });
    // A missing record shows first as a gap in the tenant's numbers: name it by number.
    const problem = sequence.next(scope.tenant, record.tenant_seq);
    if (problem) fail({ seq, tenantSeq: problem.missing, what: problem.what });

    const id = record.decision_id;
    if (record.kind === "admin") {
      // An admin record stands alone: nothing pairs with it.
    } else if (record.kind === "decision") {
      if (decisions.has(id)) fail({ seq, what: `duplicate decision record for ${id}` });
      decisions.set(id, false);
    } else {
      const outcomeSeen = decisions.get(id);
      if (outcomeSeen) fail({ seq, what: `duplicate outcome record for ${id}` });
      // An outcome whose decision precedes the export's start: only when it starts late (a v1
      // outcome names no tenant; its decision, when exported, ties it to the tenant).
      if (outcomeSeen === undefined && scope.from_seq === 0)
        fail({ seq, what: `outcome for ${id} has no earlier decision record` });
      decisions.set(id, true);
    }

    checkProof(entry.proof, seq, entry.envelope as DsseEnvelope, cp, fail);
    refs.note(record, seq);

    state.records++;
    if (opts.onProgress && state.records % every === 0) opts.onProgress(state.records);
  }
  opts.onProgress?.(state.records);
  state.tenantSeq = sequence.ranges().get(scope.tenant);
  state.unsequenced = sequence.unsequenced;
}

/** The export's one checkpoint, verified; undefined when checkpoints.jsonl is empty. */
async function readCheckpoint(
  dir: string,
  origin: string,
  ring: KeyRing,
  fail: (detail: VerifyError) => never,
): Promise<Checkpoint | undefined> {
  const lines: string[] = [];
  for await (const l of readLines(join(dir, CHECKPOINTS_FILE))) if (l !== "") lines.push(l);
  if (lines.length === 0) return undefined;
  if (lines.length > 1)
    fail({ checkpoint: 1, what: `a tenant-scoped export carries one checkpoint, not ${lines.length}` });
  let entry: { size?: unknown; note?: unknown };
  try {
    entry = JSON.parse(lines[0]!);
  } catch {
    return fail({ checkpoint: 0, what: "checkpoint 0: not JSON" });
  }
  if (typeof entry?.note !== "string") fail({ checkpoint: 0, what: "checkpoint 0: no note" });
  let cp: Checkpoint;
  try {
    cp = openCheckpoint(
      entry.note as string,
      checkpointVerifiers(
        origin,
        ring.list().map((k) => k.publicKeyRaw),
      ),
      origin,
    );
  } catch (err) {
    if (err instanceof CheckpointError) return fail({ checkpoint: 0, what: `checkpoint 0: ${err.message}` });
    throw err;
  }
  if (entry.size !== cp.size)
    fail({
      checkpoint: 0,
      what: `checkpoint 0: size ${String(entry.size)} differs from its note's ${cp.size}`,
    });
  return cp;
}

/** The entry's inclusion proof leads from its leaf to the checkpoint's root. */
function checkProof(
  raw: unknown,
  seq: number,
  envelope: DsseEnvelope,
  cp: Checkpoint,
  fail: (detail: VerifyError) => never,
): void {
  const p = raw as { leaf_index?: unknown; tree_size?: unknown; hashes?: unknown } | undefined;
  if (!p || typeof p !== "object") fail({ seq, what: "no inclusion proof" });
  if (p.leaf_index !== seq)
    fail({ seq, what: `inclusion proof is for leaf ${String(p.leaf_index)}, not ${seq}` });
  if (p.tree_size !== cp.size)
    fail({
      seq,
      what: `inclusion proof is to a tree of size ${String(p.tree_size)}, not the checkpoint's ${cp.size}`,
    });
  let hashes: Uint8Array[] = [];
  try {
    if (!Array.isArray(p.hashes)) throw new TypeError("not a list");
    hashes = p.hashes.map((h) => fromBase64(h as string));
  } catch {
    fail({ seq, what: "inclusion proof: hashes are not a list of base64 strings" });
  }
  if (!verifyInclusion(entryLeafHash(envelope), seq, cp.size, hashes, cp.rootHash)) {
    fail({
      seq,
      what: `inclusion proof of seq ${seq} does not lead to the checkpoint's root (size ${cp.size}): the record or its proof was altered`,
    });
  }
}
