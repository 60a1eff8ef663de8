/**
 * `sovr audit export --out DIR`: records, checkpoints and public keys as served, written
 * faithfully (a gap or disorder the server sends is kept for `verify` to name). A sharded log
 * (docs/audit.md §10) is exported shard by shard, each shard into `DIR/shards/<k>/` in the
 * one-shard format, with `DIR/shards.json` naming them (src/audit/export-shards.ts); a one-shard
 * log's export is the format it always was.
 */
import { rm } from "node:fs/promises";
import { join, resolve } from "node:path";
import type { PublicKeyInfo } from "../audit/index.js";
import { ExportWriter, exportKeys, type ShardsIndex, shardDir, writeShardsIndex } from "../audit/index.js";
import { toBase64 } from "../encoding/index.js";
import { AuditService, type LogEntry } from "../gen/sovereign/v1/audit_pb.js";
import type { ClientOptions, CommandResult } from "./audit-commands.js";
import { keyInfo } from "./audit-trust.js";
import { serverClient } from "./connect-client.js";

/** A served log entry's envelope in its JSON form (standard base64), as exports hold it. */
export function entryEnvelope(e: LogEntry) {
  const env = e.envelope;
  return {
    payloadType: env?.payloadType ?? "",
    payload: toBase64(env?.payload ?? new Uint8Array()),
    signatures: (env?.signatures ?? []).map((s) => ({ keyid: s.keyid, sig: toBase64(s.sig) })),
  };
}

export interface ExportOptions extends ClientOptions {
  out: string;
  /** One tenant's records (an auditor without the all-tenants grant always gets its own). */
  tenant?: string;
  /** First sequence number (default 0: the whole log, or the tenant's whole history). */
  fromSeq?: number;
  /** Progress output (default: a bar on stderr when it is a terminal or the export is long). */
  progress?: (done: number, total: number) => void;
}

/**
 * `sovr audit export --out DIR`. When the server scopes the export to a tenant, keys.json records
 * that scope and the `from_seq` asked for, and each record line its inclusion proof
 * (export-format.ts). A sharded log's tenant export keeps only the shards holding the tenant's
 * records (all of them go to one shard).
 */
export async function exportCommand(o: ExportOptions): Promise<CommandResult> {
  if (o.fromSeq !== undefined && !(Number.isSafeInteger(o.fromSeq) && o.fromSeq >= 0))
    return { exitCode: 2, stdout: [], stderr: ["--from-seq: a sequence number (an integer ≥ 0)"] };
  const client = serverClient(AuditService, o);
  const { checkpointOrigin, shardOrigins } = await client.listSigningKeys({});
  const out = resolve(o.out);
  if (shardOrigins.length <= 1) {
    const r = await exportShard(client, o, out, checkpointOrigin, 0);
    return { exitCode: 0, stdout: [`exported ${r.summary} to ${o.out}`], stderr: [] };
  }
  const index: ShardsIndex = { format: "sovr-audit-shards/v1", shards: shardOrigins.length, exported: [] };
  const lines: string[] = [];
  for (const [k, origin] of shardOrigins.entries()) {
    const dir = join(out, shardDir(k));
    const r = await exportShard(client, o, dir, origin, k);
    if (r.tenant && r.records === 0) {
      await rm(dir, { recursive: true, force: true });
      continue;
    }
    index.exported.push({ shard: k, origin, dir: shardDir(k) });
    lines.push(`shard ${k}: exported ${r.summary} to ${join(o.out, shardDir(k))}`);
  }
  await writeShardsIndex(out, index);
  lines.push(
    `${index.exported.length} of ${index.shards} log shards, indexed in ${join(o.out, "shards.json")}`,
  );
  return { exitCode: 0, stdout: lines, stderr: [] };
}

/** One shard's export (the whole log of a one-shard log) into `dir`. */
async function exportShard(
  client: ReturnType<typeof serverClient<typeof AuditService>>,
  o: ExportOptions,
  dir: string,
  origin: string,
  shard: number,
): Promise<{ summary: string; records: number; tenant: string }> {
  const keys: PublicKeyInfo[] = [];
  const fromSeq = o.fromSeq ?? 0;
  let tenant = "";
  let writer: ExportWriter | undefined;
  const open = async () => {
    // The scope's from_seq is what this client asked for, not what the server says.
    const scope = tenant ? { tenant, from_seq: fromSeq } : undefined;
    writer ??= await ExportWriter.open(dir, exportKeys(origin, keys, scope), { faithful: true });
    return writer;
  };
  const progress = o.progress ?? progressBar();
  let done = 0;
  let total = 0;
  for await (const res of client.exportDecisions({
    tenant: o.tenant ?? "",
    fromSeq: BigInt(fromSeq),
    shard,
  })) {
    total = Number(res.total);
    tenant = res.tenant;
    const item = res.item;
    if (item.case === "key") keys.push(keyInfo(item.value));
    else if (item.case === "entry") {
      const proof = res.proof && {
        leaf_index: Number(res.proof.leafIndex),
        tree_size: Number(res.proof.treeSize),
        hashes: res.proof.hashes.map(toBase64),
      };
      await (await open()).writeRecord({
        seq: Number(item.value.seq),
        envelope: entryEnvelope(item.value),
        ...(proof ? { proof } : {}),
      });
      if (++done % 500 === 0) progress(done, total);
    } else if (item.case === "checkpoint") {
      await (await open()).writeCheckpoint({
        size: Number(item.value.size),
        note: item.value.signedNote,
        cosignatures: item.value.cosignatures,
      });
    } else if (item.case === "catalog") {
      // As sent: verify recomputes its hash. The writer refuses a revision that is not one.
      await (await open()).writeCatalog(item.value.revision, item.value.document);
    }
  }
  progress(done, total);
  const counts = await (await open()).close();
  const catalogs = `${counts.catalogs ?? 0} catalog revision${counts.catalogs === 1 ? "" : "s"}`;
  return {
    summary: `${counts.records} records${tenant ? ` of tenant ${tenant}` : ""}, ${counts.checkpoints} checkpoints, ${catalogs} and ${keys.length} keys`,
    records: counts.records,
    tenant,
  };
}

/** A one-line progress bar on stderr, drawn only for terminals or long exports. */
function progressBar(): (done: number, total: number) => void {
  let last = 0;
  return (done, total) => {
    if (!process.stderr.isTTY && total < 10_000) return;
    const now = Date.now();
    if (done < total && now - last < 200) return;
    last = now;
    const width = 30;
    const frac = total === 0 ? 1 : done / total;
    const bar = "#".repeat(Math.round(frac * width)).padEnd(width, ".");
    process.stderr.write(`\rexport [${bar}] ${done}/${total} records${done >= total ? "\n" : ""}`);
  };
}
