/**
 * `sovr audit …` for auditors (DESIGN §7, §8). `query`, `export` and `replay` are clients of a
 * running server (`SOVR_URL`, default http://127.0.0.1:8080, Connect over HTTP/1.1;
 * `SOVR_KEY` as a bearer key when set) — auditors never need database credentials.
 * `verify` is offline: it reads an export directory and nothing else.
 */
import { resolve } from "node:path";
import type { Command } from "commander";
import type { PublicKeyInfo } from "../audit/index.js";
import {
  ExportWriter,
  exportKeys,
  KeptCheckpointsError,
  readKeptCheckpoints,
  verifyExport,
} from "../audit/index.js";
import { toBase64 } from "../encoding/index.js";
import { AuditService, type LogEntry } from "../gen/sovereign/v1/audit_pb.js";
import { type ChangesOptions, changesCommand } from "./audit-changes.js";
import { addAuditExplainCommand } from "./audit-explain.js";
import { addQueryFilterOptions, type QueryOptions, queryCommand } from "./audit-query.js";
import { addAuditReceiptCommands } from "./audit-receipts.js";
import { addAuditTailCommand } from "./audit-tail.js";
import { keyInfo, keysCommand, type TrustOptions, trustFor } from "./audit-trust.js";
import { addAuditWitnessCommand, type WitnessFlags, witnessRequirement } from "./audit-witness.js";
import { type ServerClientOptions, serverClient } from "./connect-client.js";
import { describeError } from "./errors.js";
import { replayJson, replayLines } from "./replay-report.js";

export { DEFAULT_SOVR_URL } from "./connect-client.js";
export type ClientOptions = ServerClientOptions;

/** What a command prints and its exit code (commands are functions, so tests call them). */
export interface CommandResult {
  exitCode: number;
  stdout: string[];
  stderr: string[];
}

export function auditClient(options: ClientOptions = {}) {
  return serverClient(AuditService, options);
}

export { type QueryOptions, queryCommand } from "./audit-query.js";

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
 * `sovr audit export --out DIR`: records, checkpoints and public keys as served, written
 * faithfully (a gap or disorder the server sends is kept for `verify` to name). When the
 * server scopes the export to a tenant, keys.json records that scope and the `from_seq` asked
 * for, and each record line its inclusion proof (export-format.ts).
 */
export async function exportCommand(o: ExportOptions): Promise<CommandResult> {
  if (o.fromSeq !== undefined && !(Number.isSafeInteger(o.fromSeq) && o.fromSeq >= 0))
    return { exitCode: 2, stdout: [], stderr: ["--from-seq: a sequence number (an integer ≥ 0)"] };
  const client = auditClient(o);
  const { checkpointOrigin } = await client.listSigningKeys({});
  const keys: PublicKeyInfo[] = [];
  const fromSeq = o.fromSeq ?? 0;
  let tenant = "";
  let writer: ExportWriter | undefined;
  const open = async () => {
    // The scope's from_seq is what this client asked for, not what the server says.
    const scope = tenant ? { tenant, from_seq: fromSeq } : undefined;
    writer ??= await ExportWriter.open(resolve(o.out), exportKeys(checkpointOrigin, keys, scope), {
      faithful: true,
    });
    return writer;
  };
  const progress = o.progress ?? progressBar();
  let done = 0;
  let total = 0;
  for await (const res of client.exportDecisions({ tenant: o.tenant ?? "", fromSeq: BigInt(fromSeq) })) {
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
  return {
    exitCode: 0,
    stdout: [
      `exported ${counts.records} records${tenant ? ` of tenant ${tenant}` : ""}, ${counts.checkpoints} checkpoints, ${catalogCount(counts.catalogs)} and ${keys.length} keys to ${o.out}`,
    ],
    stderr: [],
  };
}

/**
 * `sovr audit checkpoint`: the log's latest signed checkpoint, as the signed note. Appended to
 * a file (`>> kept.notes`), it is what `verify --checkpoints` later holds an export to.
 */
export async function checkpointCommand(o: ClientOptions = {}): Promise<CommandResult> {
  const { checkpoint } = await auditClient(o).getCheckpoint({});
  const note = checkpoint?.signedNote ?? "";
  return { exitCode: note === "" ? 1 : 0, stdout: [note.replace(/\n$/, "")], stderr: [] };
}

const catalogCount = (n = 0) => `${n} catalog revision${n === 1 ? "" : "s"}`;

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

/**
 * `sovr audit verify DIR [--checkpoints FILE]`: offline; exit 0 with a summary, or 1 naming
 * the first bad seq, checkpoint, or kept checkpoint (FILE: see src/audit/kept-checkpoints.ts).
 */
export async function verifyCommand(
  dir: string,
  o: { checkpoints?: string } & TrustOptions & WitnessFlags = {},
): Promise<CommandResult> {
  const trust = await trustFor(o);
  if ("refused" in trust) return { exitCode: 2, stdout: [], stderr: trust.refused };
  const witnesses = witnessRequirement(o);
  if ("refused" in witnesses) return { exitCode: 2, stdout: [], stderr: witnesses.refused };
  let keptCheckpoints: string[] | undefined;
  if (o.checkpoints !== undefined) {
    try {
      keptCheckpoints = await readKeptCheckpoints(resolve(o.checkpoints));
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      if (!(err instanceof KeptCheckpointsError) && e.code !== "ENOENT") throw err;
      return { exitCode: 2, stdout: [], stderr: [`--checkpoints: ${e.message}`] };
    }
  }
  const r = await verifyExport(resolve(dir), {
    keptCheckpoints,
    trustedKeys: trust.trusted,
    witnesses: witnesses.req,
  });
  if (r.ok && r.tenant !== undefined) {
    const seqs = r.tenantSeq ? `tenant_seq ${r.tenantSeq.first}..${r.tenantSeq.last} dense` : "no v2 records";
    const v1 = r.unsequenced ? `; ${r.unsequenced} v1 records without tenant_seq` : "";
    return {
      exitCode: 0,
      stdout: [
        `OK: ${r.records} records of tenant ${r.tenant}; signatures, canonical form, inclusion proofs to the checkpoint, ${seqs} and ${catalogCount(r.catalogs)} verified${v1}`,
        `checkpoint size ${r.checkpointedSize}${r.rootHash ? `, root ${r.rootHash}` : ""}; records of the tenant after its last exported one can only be shown missing against a later export`,
      ],
      stderr: [],
    };
  }
  if (r.ok) {
    return {
      exitCode: 0,
      stdout: [
        `OK: ${r.records} records, ${r.checkpoints} checkpoints; signatures, canonical form, dense sequence, dense tenant_seq per tenant, Merkle roots, consistency and ${catalogCount(r.catalogs)} verified${
          keptCheckpoints ? `; consistent with ${r.kept} kept checkpoints` : ""
        }${r.cosigners ? `; newest checkpoint cosigned by ${r.cosigners.length} of ${witnesses.req?.witnesses.length} pinned witnesses` : ""}`,
        `checkpointed size ${r.checkpointedSize}${r.rootHash ? `, root ${r.rootHash}` : ""}${
          r.records > r.checkpointedSize
            ? `; ${r.records - r.checkpointedSize} later records not yet checkpointed`
            : ""
        }`,
      ],
      stderr: [],
    };
  }
  const e = r.firstError!;
  const where =
    e.catalog !== undefined
      ? `catalog ${e.catalog}`
      : e.tenantSeq !== undefined
        ? `tenant_seq ${e.tenantSeq} (seq ${e.seq})`
        : e.seq !== undefined
          ? `seq ${e.seq}`
          : e.checkpoint !== undefined
            ? `checkpoint ${e.checkpoint}`
            : e.kept !== undefined
              ? `kept checkpoint ${e.kept}`
              : "export";
  return { exitCode: 1, stdout: [], stderr: [`FAILED at ${where}: ${e.what}`] };
}

/**
 * `sovr audit replay ID`: exit 0 when the replay matches (the record exactly; with
 * `--live-policy`, the decision: plan, verdicts, obligations), 1 with what changed.
 */
export async function replayCommand(
  decisionId: string,
  o: ClientOptions & { livePolicy?: boolean; json?: boolean } = {},
): Promise<CommandResult> {
  const r = await auditClient(o).replayDecision({ decisionId, useLivePolicy: o.livePolicy ?? false });
  const stdout = o.json ? [JSON.stringify(replayJson(r))] : replayLines(decisionId, r, o.livePolicy ?? false);
  return { exitCode: r.match ? 0 : 1, stdout, stderr: [] };
}

function print(result: CommandResult): void {
  for (const line of result.stdout) console.log(line);
  for (const line of result.stderr) console.error(line);
  process.exitCode = result.exitCode;
}

async function run(fn: () => Promise<CommandResult>): Promise<void> {
  try {
    print(await fn());
  } catch (err) {
    print({ exitCode: 1, stdout: [], stderr: [`error: ${describeError(err)}`] });
  }
}

/** Adds `sovr audit query|export|checkpoint|verify|replay|tail|changes`. */
export function addAuditCommands(program: Command): void {
  const audit = program.command("audit").description("the signed decision log (auditors)");
  const query = audit
    .command("query")
    .description("decisions of a running server (SOVR_URL, SOVR_KEY), filtered, oldest first")
    .option("--from <time>", "ISO 8601, inclusive")
    .option("--to <time>", "ISO 8601, exclusive")
    .option("--tenant <tenant>")
    .option("--model <model>")
    .option("--endpoint <id>")
    .option("--outcome <outcome>", "success | failed | denied | pending")
    .option("--policy-revision <revision>");
  addQueryFilterOptions(query).action((o: QueryOptions) => run(() => queryCommand(o)));
  audit
    .command("export")
    .description("write records, checkpoints and public keys to DIR for offline verification")
    .requiredOption("--out <dir>", "output directory")
    .option(
      "--tenant <tenant>",
      "one tenant's records, with inclusion proofs (auditors of one tenant always get theirs)",
    )
    .option("--from-seq <n>", "first sequence number", Number)
    .action((o: { out: string; tenant?: string; fromSeq?: number }) => run(() => exportCommand(o)));
  audit
    .command("checkpoint")
    .description(
      "print the log's latest signed checkpoint (keep it: verify --checkpoints checks exports against it)",
    )
    .action(() => run(() => checkpointCommand()));
  audit
    .command("verify")
    .argument("<dir>", "an export directory")
    .description(
      "verify an export offline: signatures, canonical form, dense sequence and tenant_seq, Merkle roots or inclusion proofs, consistency",
    )
    .option(
      "--checkpoints <file>",
      "checkpoints kept from earlier (an old export's checkpoints.jsonl, or signed notes): the export must contain each",
    )
    .option(
      "--trusted-keys <file>",
      "keys you pinned (`sovr audit keys --out FILE`, or an earlier export's keys.json): the export's keys must be among them",
    )
    .option("--trust-export-keys", "trust the keys that come with the export (checks self-consistency only)")
    .option(
      "--witness <vkey>",
      "a witness's cosignature verifier key (repeatable)",
      (v: string, p: string[] = []) => [...p, v],
    )
    .option("--witnesses-required <k>", "how many of the --witness keys must have cosigned (default: all)")
    .action((dir: string, o: { checkpoints?: string } & TrustOptions & WitnessFlags) =>
      run(() => verifyCommand(dir, o)),
    );
  audit
    .command("keys")
    .description(
      "the service's signing keys and log origin, in keys.json's shape: pin them for verify --trusted-keys",
    )
    .option("--out <file>", "write them to a file")
    .action((o: { out?: string }) => run(() => keysCommand(auditClient(), o)));
  audit
    .command("replay")
    .argument("<decision-id>")
    .description("re-evaluate a decision from its stored bundle, catalog revision, input and seed")
    .option(
      "--live-policy",
      "use the currently loaded policy instead of the recorded one; MATCH when the decision is the same",
    )
    .option("--json", "machine-readable result")
    .action((id: string, o: { livePolicy?: boolean; json?: boolean }) => run(() => replayCommand(id, o)));
  addAuditTailCommand(audit);
  addAuditExplainCommand(audit, run);
  addAuditReceiptCommands(audit);
  addAuditWitnessCommand(audit);
  audit
    .command("changes")
    .argument("<decision-id>")
    .description(
      "who changed the rules before a decision: the admin records of its tenant (and the platform's, with all tenants) before it, newest first",
    )
    .option("--limit <n>", "most records to print", Number, 100)
    .option("--json", "one JSON object per line")
    .action((id: string, o: ChangesOptions) => run(() => changesCommand(id, o)));
}
