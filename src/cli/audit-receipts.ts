/**
 * A caller's evidence (docs/audit.md §9): `sovr audit receipt verify` checks the receipt a
 * response carried against the decision record and pinned keys; `sovr audit prove ID` fetches
 * the record's inclusion proof to a signed checkpoint and checks it; `sovr audit get ID` prints
 * one record decoded and verified. Every check runs here, against keys the auditor holds (or,
 * for `get` without pinned keys, the keys the service publishes — and says so).
 */
import { readFile } from "node:fs/promises";
import { resolve } from "node:path";
import type { Command } from "commander";
import {
  type DsseEnvelope,
  fromPublishedKey,
  KeyRing,
  parseReceipt,
  type Receipt,
  ReceiptFormatError,
  sameLog,
  type TrustedKeys,
  verifyEntryInclusion,
  verifyLeafInclusion,
  verifyReceipt,
} from "../audit/index.js";
import { toBase64 } from "../encoding/index.js";
import type { GetDecisionResponse } from "../gen/sovereign/v1/audit_pb.js";
import { auditClient, type ClientOptions, type CommandResult, entryEnvelope } from "./audit-commands.js";
import { getCommand } from "./audit-get.js";
import { trustFor } from "./audit-trust.js";
import { describeError } from "./errors.js";

export const refuse = (...lines: string[]): CommandResult => ({ exitCode: 2, stdout: [], stderr: lines });
export const failed = (what: string): CommandResult => ({
  exitCode: 1,
  stdout: [],
  stderr: [`FAILED: ${what}`],
});

/** The pinned keys as a ring, with their origin; a refusal when none are given or they do not parse. */
export async function pinned(
  file: string | undefined,
): Promise<{ ring: KeyRing; origin?: string } | CommandResult> {
  if (file === undefined)
    return refuse(
      "--trusted-keys FILE is required: the keys you pinned (`sovr audit keys --out FILE`, kept where the operator cannot change it)",
    );
  const t = await trustFor({ trustedKeys: file });
  if ("refused" in t) return refuse(...t.refused);
  return ringOf(t.trusted!);
}

function ringOf(trusted: TrustedKeys): { ring: KeyRing; origin?: string } | CommandResult {
  const ring = new KeyRing();
  for (const [i, p] of trusted.keys.entries()) {
    try {
      ring.add(fromPublishedKey(p));
    } catch (err) {
      return refuse(`--trusted-keys: keys[${i}]: ${(err as Error).message}`);
    }
  }
  return { ring, ...(trusted.origin ? { origin: trusted.origin } : {}) };
}

export const isResult = (x: unknown): x is CommandResult =>
  typeof x === "object" && x !== null && "exitCode" in x;

/**
 * A record file: a DSSE envelope, `{envelope, seq?}` (an export's records.jsonl line), or what
 * `sovr audit get ID --json` prints (its decision entry is taken).
 */
async function readRecordFile(
  file: string,
): Promise<{ envelope: DsseEnvelope; seq?: number } | CommandResult> {
  let raw: unknown;
  try {
    raw = JSON.parse(await readFile(resolve(file), "utf8"));
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    return refuse(`--record: ${e.code === "ENOENT" ? "no such file" : "not a JSON file"}`);
  }
  // `sovr audit get ID --json` prints {decision: {seq, record, envelope}, …}: its decision entry.
  const got = (raw as { decision?: unknown } | null)?.decision;
  const o = (got && typeof got === "object" ? got : raw) as {
    envelope?: unknown;
    seq?: unknown;
    payload?: unknown;
  } | null;
  if (o && typeof o === "object" && o.envelope && typeof o.envelope === "object")
    return { envelope: o.envelope as DsseEnvelope, ...(typeof o.seq === "number" ? { seq: o.seq } : {}) };
  if (o && typeof o === "object" && typeof o.payload === "string") return { envelope: o as DsseEnvelope };
  return refuse("--record: expected a DSSE envelope or {envelope, seq} (an export's records.jsonl line)");
}

export interface ReceiptVerifyOptions extends ClientOptions {
  /** A file holding the decision record (envelope). */
  record?: string;
  /** Fetch the record of this decision from the service (GetDecision) instead. */
  decision?: string;
  trustedKeys?: string;
}

/**
 * `sovr audit receipt verify RECEIPT`: exit 0 when the receipt is the record's (its signature,
 * by a pinned key; its leaf hash, decision, seq and origin), 1 naming what differs, 2 for usage.
 * With `--decision` the record comes from the service with its inclusion proof, checked too.
 */
export async function receiptVerifyCommand(receipt: string, o: ReceiptVerifyOptions): Promise<CommandResult> {
  if ((o.record === undefined) === (o.decision === undefined))
    return refuse("give the record: --record FILE or --decision ID (one of them)");
  const keys = await pinned(o.trustedKeys);
  if (isResult(keys)) return keys;
  let entry: { envelope: DsseEnvelope; seq?: number };
  let inclusion = "";
  if (o.record !== undefined) {
    const r = await readRecordFile(o.record);
    if (isResult(r)) return r;
    entry = r;
  } else {
    const res = await auditClient(o).getDecision({ decisionId: o.decision! });
    if (!res.decision) return failed(`the service returned no record for ${o.decision}`);
    entry = { envelope: entryEnvelope(res.decision), seq: Number(res.decision.seq) };
    const proved = checkDecisionProof(res, keys);
    if (!proved.ok) return failed(proved.what);
    inclusion = `; in the log under checkpoint size ${proved.size}`;
  }
  const v = verifyReceipt(receipt, entry, keys);
  if (!v.ok) return failed(v.what);
  const r = v.receipt;
  return {
    exitCode: 0,
    stdout: [
      `OK: receipt of decision ${r.decisionId} (seq ${r.seq}, log ${r.origin}): the record's signature by pinned key ${r.keyId}, leaf hash ${toBase64(r.leafHash)}${inclusion}`,
    ],
    stderr: [],
  };
}

/** GetDecision's decision entry, proof and checkpoint, checked against `keys`. */
export function checkDecisionProof(
  res: GetDecisionResponse,
  keys: { ring: KeyRing; origin?: string },
): { ok: true; size: number } | { ok: false; what: string } {
  const cp = res.checkpoint;
  // A sharded log's decision is proved to its shard's checkpoint, `<pinned log>/shard-<k>`.
  const origin =
    keys.origin !== undefined && cp && sameLog(cp.origin, keys.origin)
      ? cp.origin
      : (keys.origin ?? cp?.origin ?? "");
  if (!res.decision || !cp || !res.decisionProof) return { ok: false, what: "the service sent no proof" };
  const v = verifyEntryInclusion({
    envelope: entryEnvelope(res.decision),
    seq: Number(res.decision.seq),
    proof: res.decisionProof.hashes,
    checkpoint: cp.signedNote,
    origin,
    ring: keys.ring,
  });
  return v.ok ? { ok: true, size: v.checkpoint.size } : v;
}

/**
 * `sovr audit prove ID [--receipt R] [--json]`: the decision record's inclusion proof to the
 * latest signed checkpoint (GetInclusionProof), verified here against the pinned keys; with a
 * receipt, its leaf hash and seq must be the proven ones. Exit 0 proven, 1 not, 2 usage.
 */
export async function proveCommand(
  decisionId: string,
  o: ClientOptions & { trustedKeys?: string; receipt?: string; json?: boolean },
): Promise<CommandResult> {
  const keys = await pinned(o.trustedKeys);
  if (isResult(keys)) return keys;
  let receipt: Receipt | undefined;
  if (o.receipt !== undefined) {
    try {
      receipt = parseReceipt(o.receipt);
    } catch (err) {
      if (err instanceof ReceiptFormatError) return refuse(`--receipt: ${err.message}`);
      throw err;
    }
    if (receipt.decisionId !== decisionId) return failed(`the receipt is of decision ${receipt.decisionId}`);
  }
  const res = await auditClient(o).getInclusionProof({ decisionId });
  const cp = res.checkpoint;
  if (!cp || !res.proof) return failed("the service sent no checkpoint or proof");
  const seq = Number(res.seq);
  if (keys.origin !== undefined && !sameLog(cp.origin, keys.origin))
    return failed(`the checkpoint's origin "${cp.origin}" is not the pinned origin "${keys.origin}"`);
  if (Number(res.proof.leafIndex) !== seq)
    return failed(`the proof is of leaf ${res.proof.leafIndex}, not seq ${seq}`);
  const v = verifyLeafInclusion({
    leafHash: res.leafHash,
    seq,
    proof: res.proof.hashes,
    checkpoint: cp.signedNote,
    // Checked above: the pinned log's origin, or one of its shards' (signed under that name).
    origin: cp.origin,
    ring: keys.ring,
  });
  if (!v.ok) return failed(v.what);
  if (receipt && (receipt.seq !== seq || toBase64(receipt.leafHash) !== toBase64(res.leafHash)))
    return failed(
      `the receipt names seq ${receipt.seq} and another leaf hash than the log holds at seq ${seq}`,
    );
  if (o.json) {
    const out = {
      decision_id: decisionId,
      seq,
      leaf_hash: toBase64(res.leafHash),
      proof: { leaf_index: seq, tree_size: v.checkpoint.size, hashes: res.proof.hashes.map(toBase64) },
      checkpoint: cp.signedNote,
      verified: true,
      ...(receipt ? { receipt: o.receipt } : {}),
    };
    return { exitCode: 0, stdout: [JSON.stringify(out)], stderr: [] };
  }
  return {
    exitCode: 0,
    stdout: [
      `OK: decision ${decisionId} is entry ${seq} (leaf hash ${toBase64(res.leafHash)}) of log ${v.checkpoint.origin}, in the checkpoint of size ${v.checkpoint.size} signed by a pinned key${receipt ? "; the receipt's leaf hash and seq are the log's" : ""}`,
    ],
    stderr: [],
  };
}

async function run(fn: () => Promise<CommandResult>): Promise<void> {
  let r: CommandResult;
  try {
    r = await fn();
  } catch (err) {
    r = { exitCode: 1, stdout: [], stderr: [`error: ${describeError(err)}`] };
  }
  for (const line of r.stdout) console.log(line);
  for (const line of r.stderr) console.error(line);
  process.exitCode = r.exitCode;
}

/** Adds `sovr audit receipt verify`, `sovr audit prove` and `sovr audit get`. */
export function addAuditReceiptCommands(audit: Command): void {
  const trusted = "keys you pinned (`sovr audit keys --out FILE`, or an export's keys.json)";
  audit
    .command("receipt")
    .description("a response's receipt (the x-sovr-receipt header or trailer): the caller's evidence")
    .command("verify")
    .argument("<receipt>", "the receipt text (v1.…)")
    .description("check a receipt against its decision record and pinned keys")
    .option(
      "--record <file>",
      "the record: a DSSE envelope or an export's records.jsonl line (`sovr audit get ID --json` writes one)",
    )
    .option("--decision <id>", "fetch the record (and its inclusion proof) from the service")
    .option("--trusted-keys <file>", trusted)
    .action((receipt: string, o: ReceiptVerifyOptions) => run(() => receiptVerifyCommand(receipt, o)));
  audit
    .command("prove")
    .argument("<decision-id>")
    .description("the record's inclusion proof to the latest signed checkpoint, verified against pinned keys")
    .option("--trusted-keys <file>", trusted)
    .option("--receipt <receipt>", "also check that the receipt's leaf hash and seq are the proven ones")
    .option("--json", "the proof and checkpoint as one JSON object (to keep)")
    .action((id: string, o: { trustedKeys?: string; receipt?: string; json?: boolean }) =>
      run(() => proveCommand(id, o)),
    );
  audit
    .command("get")
    .argument("<decision-id>")
    .description("one decision record (and its outcome) decoded, signature and inclusion proof verified")
    .option("--trusted-keys <file>", `${trusted}; default: the keys the service publishes`)
    .option("--json", "one JSON object: records, envelopes and what was verified")
    .action((id: string, o: { trustedKeys?: string; json?: boolean }) => run(() => getCommand(id, o)));
}
