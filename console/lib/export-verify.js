// An export directory (docs/audit.md §5) verified in the browser against pinned keys (§6):
// keys.json's keys among the pinned ones; every record's signature and canonical form; dense
// seq (whole log) or each line's inclusion proof (tenant scope); every checkpoint signed and,
// for the whole log, its root equal to the Merkle root of the records it covers; catalogs/
// files hashing to their names. Stops at the first failure, naming it.
import { equalBytes, sha256, toBase64, toHex } from "./bytes.js";
import { envelopeLeafHash, verifyEnvelope } from "./dsse.js";
import { connectBytes } from "./entry.js";
import { MerkleAccumulator, verifyInclusionProof } from "./merkle.js";
import { checkCosignatures, openCheckpointNote } from "./note.js";

class ExportFailure extends Error {
  constructor(where, what) {
    super(`${where}: ${what}`);
    this.where = where;
    this.what = what;
  }
}

/**
 * The parsed lines of records.jsonl, one at a time: from a string, or from a ReadableStream of
 * bytes (File.stream()), so a million-record export is never held in memory whole.
 */
async function* recordLines(source) {
  if (typeof source === "string") {
    yield* jsonLines(source, "records.jsonl");
    return;
  }
  const reader = source.pipeThrough(new TextDecoderStream("utf-8", { fatal: true })).getReader();
  let rest = "";
  let n = 0;
  const parse = (l) => {
    n++;
    try {
      return JSON.parse(l);
    } catch {
      throw new ExportFailure("records.jsonl", `line ${n} is not JSON`);
    }
  };
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    const parts = (rest + value).split("\n");
    rest = parts.pop();
    for (const l of parts) if (l.trim() !== "") yield parse(l);
  }
  if (rest.trim() !== "") yield parse(rest);
}

function jsonLines(text, file) {
  return text
    .split("\n")
    .filter((l) => l.trim() !== "")
    .map((l, i) => {
      try {
        return JSON.parse(l);
      } catch {
        throw new ExportFailure(file, `line ${i + 1} is not JSON`);
      }
    });
}

/**
 * files: {records, checkpoints, keys} (text) and catalogs: [{name, bytes}]; ring: pinned keys;
 * witnesses: parsed witness keys (may be empty). Resolves to a summary, never throws.
 */
export async function verifyExportFiles(files, ring, witnesses = [], onProgress = () => {}) {
  const summary = {
    ok: false,
    records: 0,
    checkpoints: 0,
    checkpointedSize: 0,
    catalogs: 0,
    keySource: ring.source,
  };
  try {
    await run(files, ring, witnesses, summary, onProgress);
    summary.ok = true;
  } catch (e) {
    summary.firstError =
      e instanceof ExportFailure ? { where: e.where, what: e.what } : { where: "export", what: e.message };
  }
  return summary;
}

async function run(files, ring, witnesses, summary, onProgress) {
  const exportKeys = JSON.parse(files.keys ?? "null");
  if (!exportKeys?.keys) throw new ExportFailure("keys.json", "missing or not a keys file");
  for (const k of exportKeys.keys)
    if (!ring.get(k.key_id))
      throw new ExportFailure("keys.json", `key ${k.key_id} is not among the pinned keys`);
  if (ring.origin && exportKeys.origin !== ring.origin)
    throw new ExportFailure(
      "keys.json",
      `origin ${exportKeys.origin} is not the pinned origin ${ring.origin}`,
    );
  summary.scope = exportKeys.scope;
  const cps = [];
  for (const [i, line] of jsonLines(files.checkpoints ?? "", "checkpoints.jsonl").entries()) {
    try {
      const cp = await openCheckpointNote(line.note, ring);
      if (cp.origin !== exportKeys.origin) throw new Error(`origin ${cp.origin} is not the export's`);
      cps.push({ ...cp, index: i, cosignatures: line.cosignatures ?? [] });
    } catch (e) {
      throw new ExportFailure(`checkpoint ${i}`, e.message);
    }
  }
  summary.checkpoints = cps.length;
  const lines = recordLines(files.records ?? "");
  if (exportKeys.scope) await tenantRecords(lines, cps, ring, exportKeys.scope, summary, onProgress);
  else await wholeLog(lines, cps, ring, summary, onProgress);
  await catalogs(files.catalogs ?? [], summary);
  const last = cps[cps.length - 1];
  if (last && witnesses.length > 0) {
    summary.cosignatures = await checkCosignatures(last.text, last.cosignatures, witnesses);
    const bad = summary.cosignatures.find((c) => c.status === "FAILED");
    if (bad)
      throw new ExportFailure(
        `checkpoint ${last.index}`,
        `cosignature of ${bad.name} does not verify (altered)`,
      );
  }
}

async function checkRecord(line, ring, seen) {
  const v = await verifyEnvelope(line.envelope, ring);
  if (!v.ok) throw new ExportFailure(`seq ${line.seq}`, `signature: ${v.reason}`);
  const r = v.record;
  if (r.kind === "decision") {
    if (seen.has(r.decision_id))
      throw new ExportFailure(`seq ${line.seq}`, `a second decision record for ${r.decision_id}`);
    seen.add(r.decision_id);
  } else if (r.kind === "outcome" && !seen.has(r.decision_id) && !seen.scoped) {
    throw new ExportFailure(`seq ${line.seq}`, `outcome before its decision ${r.decision_id}`);
  }
  if (r.kind === "decision" && r.v === 2 && r.catalog_revision)
    seen.revisions.set(r.catalog_revision, line.seq);
  return r;
}

async function wholeLog(lines, cps, ring, summary, onProgress) {
  const acc = new MerkleAccumulator();
  const seen = Object.assign(new Set(), { revisions: new Map() });
  let next = 0;
  const check = async () => {
    while (cps[next] && cps[next].size === acc.size) {
      const cp = cps[next];
      if (!equalBytes(await acc.root(), cp.root))
        throw new ExportFailure(
          `checkpoint ${cp.index}`,
          `Merkle root of records 0..${cp.size - 1} does not match`,
        );
      summary.checkpointedSize = cp.size;
      next++;
    }
  };
  await check();
  let i = 0;
  for await (const line of lines) {
    if (i === 0 && cps.length === 0) throw new ExportFailure("export", "no checkpoint covers the records");
    if (line.seq !== i)
      throw new ExportFailure(`seq ${i}`, `sequence gap: seq ${i} is missing (found ${line.seq})`);
    await checkRecord(line, ring, seen);
    await acc.push(await envelopeLeafHash(line.envelope));
    await check();
    if (++i % 1000 === 0) onProgress(i);
  }
  summary.records = i;
  summary.revisions = seen.revisions;
  if (cps[next])
    throw new ExportFailure(
      `checkpoint ${cps[next].index}`,
      `covers ${cps[next].size} records but the export has ${acc.size}`,
    );
  summary.rootHash = toBase64(await acc.root());
}

async function tenantRecords(lines, cps, ring, scope, summary, onProgress) {
  const cp = cps[cps.length - 1];
  const seen = Object.assign(new Set(), { revisions: new Map(), scoped: true });
  let expected;
  let i = 0;
  for await (const line of lines) {
    if (!cp) throw new ExportFailure("export", "no checkpoint covers the records");
    const r = await checkRecord(line, ring, seen);
    const tenant = r.principal?.tenant ?? r.tenant;
    if (tenant !== scope.tenant)
      throw new ExportFailure(`seq ${line.seq}`, `record of tenant ${tenant}, not ${scope.tenant}`);
    if (r.v === 2) {
      if (expected !== undefined && r.tenant_seq !== expected)
        throw new ExportFailure(
          `tenant_seq ${expected}`,
          `tenant_seq ${expected} of tenant ${scope.tenant} is missing`,
        );
      expected = r.tenant_seq + 1;
    }
    const p = line.proof ?? {};
    const ok =
      p.leaf_index === line.seq &&
      p.tree_size === cp.size &&
      (await verifyInclusionProof(
        line.seq,
        cp.size,
        await envelopeLeafHash(line.envelope),
        (p.hashes ?? []).map(connectBytes),
        cp.root,
      ));
    if (!ok)
      throw new ExportFailure(`seq ${line.seq}`, "inclusion proof does not lead to the checkpoint's root");
    if (++i % 1000 === 0) onProgress(i);
  }
  summary.records = i;
  summary.checkpointedSize = cp?.size ?? 0;
  summary.revisions = seen.revisions;
}

async function catalogs(files, summary) {
  const have = new Set();
  for (const f of files) {
    const m = /^([0-9a-f]{64})\.json$/.exec(f.name);
    if (!m) throw new ExportFailure(`catalogs/${f.name}`, "not named <64 hex digits>.json");
    const h = toHex(await sha256(f.bytes));
    if (h !== m[1])
      throw new ExportFailure(
        `catalog ${m[1]}`,
        `content hashes to ${h}, not ${m[1]}: the catalog revision was altered`,
      );
    have.add(m[1]);
  }
  summary.catalogs = have.size;
  if (files.length === 0) {
    summary.catalogsChecked = false;
    return;
  }
  summary.catalogsChecked = true;
  for (const [rev, seq] of summary.revisions ?? [])
    if (!have.has(rev))
      throw new ExportFailure(
        `catalog ${rev}`,
        `catalog revision ${rev} (referenced by seq ${seq}) is missing`,
      );
}
