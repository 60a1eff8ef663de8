/**
 * Offline verification of an export directory (see export-format.ts) — what
 * `sovr audit verify DIR` runs. No database, no network; only the export's files.
 *
 * In order, stopping at the first failure:
 * 1. keys.json: each key's id is derived from its public key.
 * 2. records.jsonl, entry by entry: dense sequence 0..n-1; the DSSE envelope is signed by a key
 *    in keys.json (an unknown key is an error) with the record payload type; the payload is a
 *    v1 or v2 record in exact RFC 8785 canonical form with integers only; each decision id has
 *    one decision record and every outcome follows its decision (admin records stand alone). Each envelope becomes a leaf:
 *    SHA-256(0x00 ‖ canonical JSON of the envelope).
 * 3. checkpoints.jsonl, in order: the note is signed by a key in keys.json under the origin;
 *    its size is at most n; its root equals the Merkle root of records 0..size-1; it is
 *    consistent (RFC 9162 §2.1.4) with the previous checkpoint.
 *
 * 4. catalogs/ (export-catalogs.ts): each `<revision>.json` hashes (SHA-256) to its name, and
 *    every revision a v2 decision record refers to is there.
 *
 * 5. (with `keptCheckpoints`) checkpoints the auditor kept from earlier: each signed by a key
 *    of the export under its origin, of at most n records, with the export's root at its size
 *    (kept-checkpoints.ts) — a cut or rewritten log that verifies on its own fails here.
 *
 * The result names the first bad sequence number where one can be named: for a root mismatch,
 * the first record not covered by an earlier verified checkpoint.
 */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { toBase64 } from "../encoding/index.js";
import { CheckpointError, checkpointVerifiers, openCheckpoint } from "./checkpoint.js";
import { type DsseEnvelope, entryLeafHash } from "./dsse.js";
import { CatalogReferences, checkCatalogs } from "./export-catalogs.js";
import {
  CHECKPOINTS_FILE,
  EXPORT_FORMAT,
  type ExportScope,
  KEYS_FILE,
  RECORDS_FILE,
  readLines,
} from "./export-format.js";
import { checkKeptCheckpoints } from "./kept-checkpoints.js";
import { fromPublishedKey, KeyRing, type PublishedKey } from "./keys.js";
import { equalBytes, MerkleTree, verifyConsistency } from "./merkle.js";
import { openLoggedRecord } from "./open-entry.js";
import { recordTenant } from "./record.js";
import { TenantSeqCheck } from "./tenant-seq-check.js";
import { verifyTenantExport } from "./verify-tenant.js";

export interface VerifyError {
  /** The first bad (or first missing) sequence number, when one can be named. */
  seq?: number;
  /** Index (from 0) of the offending line of checkpoints.jsonl, for checkpoint failures. */
  checkpoint?: number;
  /** The first missing tenant_seq (record format v2), when the tenant's sequence has a gap. */
  tenantSeq?: number;
  /** Index (from 0) of the kept checkpoint the export contradicts. */
  kept?: number;
  /** The catalog revision missing from catalogs/ or altered there. */
  catalog?: string;
  what: string;
}

export interface VerifyResult {
  ok: boolean;
  /** Records verified (all of them when ok). */
  records: number;
  /** Checkpoints verified. */
  checkpoints: number;
  /** Size of the last verified checkpoint (0 if none). */
  checkpointedSize: number;
  /** Base64 root hash at the last verified checkpoint. */
  rootHash?: string;
  /** A tenant-scoped export: its tenant, and the first and last tenant_seq it holds. */
  tenant?: string;
  tenantSeq?: { first: number; last: number };
  /** v1 records (no tenant_seq: their completeness within a tenant cannot be shown). */
  unsequenced?: number;
  /** Kept checkpoints the export was found consistent with (when any were given). */
  kept?: number;
  /** Catalog revisions in catalogs/, each found to hash to its name. */
  catalogs?: number;
  firstError?: VerifyError;
}

export interface VerifyOptions {
  /** Called every `progressEvery` records (default 10 000). */
  onProgress?: (recordsVerified: number) => void;
  progressEvery?: number;
  /**
   * Fail when records exist but no checkpoint does (default true): without a checkpoint
   * nothing shows the records are the log's, in full, in order.
   */
  requireCheckpoint?: boolean;
  /** Also require every record's time to lie within its signing key's validity (default false). */
  enforceKeyValidity?: boolean;
  /**
   * Signed checkpoint notes the auditor kept from earlier (see kept-checkpoints.ts): the export
   * must contain each one's tree.
   */
  keptCheckpoints?: readonly string[];
  /**
   * Keys the auditor pinned (obtained apart from the export: `sovr audit keys`, an earlier
   * export's keys.json): every key the export's keys.json lists must be one of them, and the
   * pinned entries (their validity periods) are what signatures are checked against. With an
   * `origin`, the export's must equal it. Without this option the export's own keys.json is
   * trusted, which shows the export is self-consistent — not that the operator did not re-sign
   * a rewritten log with keys of its own.
   */
  trustedKeys?: TrustedKeys;
}

/** Pinned keys: a keys.json-shaped object (`origin` optional). */
export interface TrustedKeys {
  origin?: string;
  keys: readonly PublishedKey[];
}

class VerifyFailure extends Error {
  constructor(readonly detail: VerifyError) {
    super(detail.what);
  }
}

const fail = (detail: VerifyError): never => {
  throw new VerifyFailure(detail);
};

/** Verifies the export in `dir`; never throws for bad content, only reports it. */
export async function verifyExport(dir: string, opts: VerifyOptions = {}): Promise<VerifyResult> {
  const state: Omit<VerifyResult, "ok" | "firstError"> = {
    records: 0,
    checkpoints: 0,
    checkpointedSize: 0,
    rootHash: undefined,
  };
  try {
    const { origin, ring, scope } = await readKeys(dir, opts.trustedKeys);
    if (scope) {
      // One tenant's records, not contiguous in the log: proofs and tenant_seq instead.
      state.tenant = scope.tenant;
      // Kept checkpoints need the log's tree, which a tenant's export does not carry: refused
      // rather than skipped, so `--checkpoints` never seems to have checked something.
      if (opts.keptCheckpoints)
        fail({
          what: "kept checkpoints cannot be checked against a tenant-scoped export (no consistency proofs in it)",
        });
      const refs = new CatalogReferences();
      await verifyTenantExport(dir, origin, ring, scope, opts, state, fail, refs);
      await verifyCatalogs(dir, refs, state);
      return { ok: true, ...state };
    }
    const refs = new CatalogReferences();
    const tree = await verifyRecords(dir, ring, opts, refs, (n) => {
      state.records = n;
    });
    await verifyCheckpoints(dir, origin, ring, tree, (count, size, root) => {
      state.checkpoints = count;
      state.checkpointedSize = size;
      state.rootHash = toBase64(root);
    });
    if (tree.size > 0 && state.checkpoints === 0 && (opts.requireCheckpoint ?? true)) {
      fail({ seq: 0, what: `no checkpoint covers the ${tree.size} records` });
    }
    await verifyCatalogs(dir, refs, state);
    const kept = opts.keptCheckpoints;
    if (kept) {
      const contradicted = checkKeptCheckpoints(kept, origin, ring, tree);
      if (contradicted) fail(contradicted);
    }
    return { ok: true, ...state, ...(kept ? { kept: kept.length } : {}) };
  } catch (err) {
    if (err instanceof VerifyFailure) return { ok: false, ...state, firstError: err.detail };
    const e = err as NodeJS.ErrnoException;
    if (e.code === "ENOENT")
      return { ok: false, ...state, firstError: { what: `missing file: ${e.path ?? e.message}` } };
    throw err;
  }
}

async function readKeys(
  dir: string,
  trusted: TrustedKeys | undefined,
): Promise<{ origin: string; ring: KeyRing; scope?: ExportScope }> {
  let raw: unknown;
  try {
    raw = JSON.parse(await readFile(join(dir, KEYS_FILE), "utf8"));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") throw err;
    return fail({ what: `${KEYS_FILE}: not JSON` });
  }
  const k = raw as { format?: unknown; origin?: unknown; keys?: unknown; scope?: ExportScope };
  if (k.format !== EXPORT_FORMAT) fail({ what: `${KEYS_FILE}: format is not ${EXPORT_FORMAT}` });
  if (typeof k.origin !== "string" || k.origin === "") fail({ what: `${KEYS_FILE}: no origin` });
  if (!Array.isArray(k.keys)) fail({ what: `${KEYS_FILE}: no keys` });
  const ring = new KeyRing();
  for (const [i, p] of (k.keys as PublishedKey[]).entries()) {
    try {
      ring.add(fromPublishedKey(p));
    } catch (err) {
      fail({ what: `${KEYS_FILE}: keys[${i}]: ${(err as Error).message}` });
    }
  }
  const scope = k.scope;
  if (
    scope !== undefined &&
    (typeof scope?.tenant !== "string" ||
      scope.tenant === "" ||
      !Number.isSafeInteger(scope.from_seq) ||
      scope.from_seq < 0)
  )
    fail({ what: `${KEYS_FILE}: scope needs a tenant and a from_seq ≥ 0` });
  const origin = k.origin as string;
  return { origin, ring: trusted ? pinnedRing(trusted, origin, ring) : ring, scope };
}

/**
 * The ring of pinned keys, after checking the export's keys against it: a key the export lists
 * that was not pinned fails verification (a log re-signed with new keys), as does another origin.
 */
function pinnedRing(trusted: TrustedKeys, origin: string, exported: KeyRing): KeyRing {
  if (trusted.origin !== undefined && trusted.origin !== origin)
    fail({ what: `${KEYS_FILE}: origin "${origin}" is not the pinned origin "${trusted.origin}"` });
  const ring = new KeyRing();
  for (const [i, p] of trusted.keys.entries()) {
    try {
      ring.add(fromPublishedKey(p));
    } catch (err) {
      fail({ what: `trusted keys: keys[${i}]: ${(err as Error).message}` });
    }
  }
  for (const k of exported.list())
    if (!ring.has(k.keyId))
      fail({
        what: `${KEYS_FILE}: key ${k.keyId} is not among the trusted keys: the export is signed with a key you did not pin`,
      });
  return ring;
}

/** Step 4: the catalog revisions the records refer to are in catalogs/, unaltered. */
async function verifyCatalogs(dir: string, refs: CatalogReferences, state: { catalogs?: number }) {
  const problem = await checkCatalogs(dir, refs, (n) => {
    state.catalogs = n;
  });
  if (problem) fail(problem);
}

async function verifyRecords(
  dir: string,
  ring: KeyRing,
  opts: VerifyOptions,
  refs: CatalogReferences,
  progress: (n: number) => void,
): Promise<MerkleTree> {
  const tree = new MerkleTree();
  const every = opts.progressEvery ?? 10_000;
  // decision id → 1 (decision seen) or 2 (outcome seen too)
  const decisions = new Map<string, number>();
  // Each tenant's v2 records from tenant_seq 1: the export starts at the log's beginning.
  const tenantSeqs = new TenantSeqCheck(true);
  let seq = 0;
  for await (const line of readLines(join(dir, RECORDS_FILE))) {
    let entry: { seq?: unknown; envelope?: unknown };
    try {
      entry = JSON.parse(line);
    } catch {
      return fail({ seq, what: `${RECORDS_FILE} line ${seq + 1} is not JSON` });
    }
    if (entry === null || typeof entry !== "object")
      fail({ seq, what: `${RECORDS_FILE} line ${seq + 1} is not an entry` });
    if (entry.seq !== seq) {
      const found = typeof entry.seq === "number" ? entry.seq : NaN;
      const what =
        found > seq
          ? `sequence gap: seq ${seq} is missing (next entry is seq ${found})`
          : `sequence out of order: expected seq ${seq}, found ${String(entry.seq)}`;
      fail({ seq, what });
    }
    const opened = openLoggedRecord(entry.envelope, ring, opts.enforceKeyValidity);
    if (!opened.ok) return fail({ seq, what: opened.what });
    for (const id of opened.invalidKeys)
      fail({ seq, what: `signature: key ${id} was not valid at the record's time` });
    const { record } = opened;
    const seen = decisions.get(record.decision_id);
    if (record.kind === "admin") {
      // An admin record (v2) stands alone: it names no decision.
    } else if (record.kind === "decision") {
      if (seen !== undefined) fail({ seq, what: `duplicate decision record for ${record.decision_id}` });
      decisions.set(record.decision_id, 1);
    } else {
      if (seen === undefined)
        fail({ seq, what: `outcome for ${record.decision_id} has no earlier decision record` });
      if (seen === 2) fail({ seq, what: `duplicate outcome record for ${record.decision_id}` });
      decisions.set(record.decision_id, 2);
    }
    const problem = tenantSeqs.next(recordTenant(record) ?? "", record.tenant_seq);
    if (problem) fail({ seq, tenantSeq: problem.missing, what: problem.what });
    refs.note(record, seq);
    // The leaf covers the envelope as signed (canonical JSON), signatures included.
    tree.append(entryLeafHash(entry.envelope as DsseEnvelope));
    seq++;
    progress(seq);
    if (opts.onProgress && seq % every === 0) opts.onProgress(seq);
  }
  opts.onProgress?.(seq);
  return tree;
}

async function verifyCheckpoints(
  dir: string,
  origin: string,
  ring: KeyRing,
  tree: MerkleTree,
  progress: (count: number, size: number, root: Uint8Array) => void,
): Promise<void> {
  const verifiers = checkpointVerifiers(
    origin,
    ring.list().map((k) => k.publicKeyRaw),
  );
  let prev: { size: number; root: Uint8Array } | undefined;
  let index = 0;
  for await (const line of readLines(join(dir, CHECKPOINTS_FILE))) {
    const at = `checkpoint ${index}`;
    let entry: { size?: unknown; note?: unknown };
    try {
      entry = JSON.parse(line);
    } catch {
      return fail({ checkpoint: index, what: `${at}: not JSON` });
    }
    if (typeof entry?.note !== "string") fail({ checkpoint: index, what: `${at}: no note` });
    let cp: ReturnType<typeof openCheckpoint>;
    try {
      cp = openCheckpoint(entry.note as string, verifiers, origin);
    } catch (err) {
      if (err instanceof CheckpointError) return fail({ checkpoint: index, what: `${at}: ${err.message}` });
      throw err;
    }
    if (entry.size !== cp.size)
      fail({
        checkpoint: index,
        what: `${at}: size ${String(entry.size)} differs from its note's ${cp.size}`,
      });
    if (prev && cp.size < prev.size) {
      fail({
        checkpoint: index,
        what: `${at}: size ${cp.size} is smaller than the previous checkpoint's ${prev.size}`,
      });
    }
    if (cp.size > tree.size) {
      fail({
        seq: tree.size,
        checkpoint: index,
        what: `${at} covers ${cp.size} records but the export has ${tree.size}: seq ${tree.size}..${cp.size - 1} are missing`,
      });
    }
    const root = tree.root(cp.size);
    if (!equalBytes(root, cp.rootHash)) {
      const from = prev?.size ?? 0;
      fail({
        seq: from,
        checkpoint: index,
        what: `${at} (size ${cp.size}): Merkle root does not match records 0..${cp.size - 1}; a record in seq ${from}..${cp.size - 1} was changed, removed, inserted or reordered`,
      });
    }
    if (
      prev &&
      !verifyConsistency(
        prev.size,
        cp.size,
        prev.root,
        cp.rootHash,
        tree.consistencyProof(prev.size, cp.size),
      )
    ) {
      fail({ seq: prev.size, checkpoint: index, what: `${at}: not consistent with the previous checkpoint` });
    }
    prev = { size: cp.size, root: cp.rootHash };
    index++;
    progress(index, cp.size, cp.rootHash);
  }
}
