/**
 * `sovr audit …` for auditors (DESIGN §7, §8). `query`, `export` and `replay` are clients of a
 * running server (`SOVR_URL`, default http://127.0.0.1:8080, Connect over HTTP/1.1;
 * `SOVR_KEY` as a bearer key when set) — auditors never need database credentials.
 * `verify` is offline: it reads an export directory and nothing else.
 */
import { resolve } from "node:path";
import type { Command } from "commander";
import { KeptCheckpointsError, readKeptCheckpoints, readShardsIndex, verifyExport } from "../audit/index.js";
import { AuditService } from "../gen/sovereign/v1/audit_pb.js";
import { type ChangesOptions, changesCommand } from "./audit-changes.js";
import { addAuditExplainCommand } from "./audit-explain.js";
import { exportCommand } from "./audit-export.js";
import { addQueryFilterOptions, type QueryOptions, queryCommand } from "./audit-query.js";
import { addAuditReceiptCommands } from "./audit-receipts.js";
import { addAuditTailCommand } from "./audit-tail.js";
import { keysCommand, type TrustOptions, trustFor } from "./audit-trust.js";
import { pinnedShardOrigin, verifyShards } from "./audit-verify-shards.js";
import { addAuditWitnessCommand, type WitnessFlags, witnessRequirement } from "./audit-witness.js";
import { type ServerClientOptions, serverClient } from "./connect-client.js";
import { describeError } from "./errors.js";
import { replayJson, replayLines } from "./replay-report.js";

export { type ExportOptions, entryEnvelope, exportCommand } from "./audit-export.js";
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

/**
 * `sovr audit checkpoint`: the log's latest signed checkpoint, as the signed note. Appended to
 * a file (`>> kept.notes`), it is what `verify --checkpoints` later holds an export to.
 */
export async function checkpointCommand(o: ClientOptions & { shard?: string } = {}): Promise<CommandResult> {
  if (o.shard !== undefined && !/^\d+$/.test(o.shard))
    return { exitCode: 2, stdout: [], stderr: ["--shard: a log shard number (an integer ≥ 0)"] };
  const { checkpoint } = await auditClient(o).getCheckpoint({ shard: Number(o.shard ?? 0) });
  const note = checkpoint?.signedNote ?? "";
  return { exitCode: note === "" ? 1 : 0, stdout: [note.replace(/\n$/, "")], stderr: [] };
}

const catalogCount = (n = 0) => `${n} catalog revision${n === 1 ? "" : "s"}`;

/**
 * `sovr audit verify DIR [--checkpoints FILE]`: offline; exit 0 with a summary, or 1 naming
 * the first bad seq, checkpoint, or kept checkpoint (FILE: see src/audit/kept-checkpoints.ts).
 */
export async function verifyCommand(
  dir: string,
  o: { checkpoints?: string; shardOrigin?: string } & TrustOptions & WitnessFlags = {},
): Promise<CommandResult> {
  const trust = await trustFor(o);
  if ("refused" in trust) return { exitCode: 2, stdout: [], stderr: trust.refused };
  // A sharded log's export: each shard verified as an export of its own (audit-verify-shards.ts).
  const index =
    o.shardOrigin === undefined ? await readShardsIndex(resolve(dir)).catch((e: Error) => e) : undefined;
  if (index instanceof Error) return { exitCode: 1, stdout: [], stderr: [`FAILED: ${index.message}`] };
  if (index)
    return verifyShards(resolve(dir), index, (d, shardOrigin) => verifyCommand(d, { ...o, shardOrigin }));
  if (o.shardOrigin !== undefined && trust.trusted) {
    const origin = pinnedShardOrigin(trust.trusted.origin, o.shardOrigin);
    trust.trusted = { ...trust.trusted, ...(origin ? { origin } : {}) };
  }
  const witnesses = witnessRequirement(o);
  if ("refused" in witnesses) return { exitCode: 2, stdout: [], stderr: witnesses.refused };
  let keptCheckpoints: string[] | undefined;
  if (o.checkpoints !== undefined) {
    try {
      keptCheckpoints = await readKeptCheckpoints(resolve(o.checkpoints));
      // A shard is held to the kept checkpoints of its own origin.
      if (o.shardOrigin !== undefined)
        keptCheckpoints = keptCheckpoints.filter((n) => n.startsWith(`${o.shardOrigin}\n`));
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

/** Adds `sovr audit query|export|checkpoint|verify|replay|tail|changes` to the `sovr audit` command. */
export function addAuditCommands(audit: Command): void {
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
    .option("--shard <k>", "the log shard's checkpoint (a sharded log, docs/audit.md §10; default 0)")
    .action((o: { shard?: string }) => run(() => checkpointCommand({ shard: o.shard })));
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
