/**
 * `sovr audit tail [--follow] [--json] [--from SEQ] [filters]`: the live decision feed
 * (AuditService.WatchDecisions) of a running server, for people and SIEMs. The JSON-lines
 * format is documented in docs/audit.md ("Live feed"); a consumer resumes from the `next_seq`
 * of the last line it processed.
 */
import { once } from "node:events";
import { timestampDate, timestampFromDate } from "@bufbuild/protobuf/wkt";
import type { Command } from "commander";
import { toBase64 } from "../encoding/index.js";
import {
  AuditService,
  Outcome,
  RecordKind,
  type WatchDecisionsResponse,
} from "../gen/sovereign/v1/audit_pb.js";
import { type ServerClientOptions, serverClient } from "./connect-client.js";
import { describeError } from "./errors.js";

export interface TailOptions extends ServerClientOptions {
  follow?: boolean;
  json?: boolean;
  /** First sequence number (the global log seq); default: new entries with --follow, else 0. */
  from?: string;
  since?: string;
  until?: string;
  tenant?: string;
  model?: string;
  endpoint?: string;
  outcome?: string;
  policyRevision?: string;
  /** The log shard to follow (a sharded log, docs/audit.md §10); default: the tenant's, or 0. */
  shard?: string;
  signal?: AbortSignal;
}

const OUTCOME: Record<string, Outcome> = {
  success: Outcome.SUCCESS,
  failed: Outcome.FAILED,
  denied: Outcome.DENIED,
  pending: Outcome.PENDING,
};

function time(flag: string, v: string | undefined) {
  if (v === undefined) return undefined;
  const d = new Date(v);
  if (Number.isNaN(d.getTime())) throw new TailUsageError(`${flag}: not a date/time: ${v}`);
  return timestampFromDate(d);
}

class TailUsageError extends Error {}

/** One feed message as its JSON line (docs/audit.md, "Live feed"). */
export function tailJson(m: WatchDecisionsResponse): Record<string, unknown> {
  const e = m.entry!;
  const d = m.decision;
  const payload = e.envelope?.payload ?? new Uint8Array();
  return {
    seq: Number(e.seq),
    next_seq: Number(m.nextSeq),
    // The log shard seq and next_seq are of (0 in a one-shard log).
    shard: m.shard,
    kind: e.kind === RecordKind.OUTCOME ? "outcome" : "decision",
    decision_id: e.decisionId,
    time: e.time ? timestampDate(e.time).toISOString() : null,
    tenant: d?.tenant ?? null,
    tenant_seq: m.tenantSeq === undefined ? null : Number(m.tenantSeq),
    model: d?.model ?? null,
    endpoint_id: d?.endpointId || null,
    outcome: d ? (Outcome[d.outcome]?.toLowerCase() ?? null) : null,
    policy_revision: d?.policyRevision ?? null,
    record: JSON.parse(Buffer.from(payload).toString("utf8")) as unknown,
    envelope: {
      payloadType: e.envelope?.payloadType ?? "",
      payload: toBase64(payload),
      signatures: (e.envelope?.signatures ?? []).map((s) => ({ keyid: s.keyid, sig: toBase64(s.sig) })),
    },
  };
}

function tailText(m: WatchDecisionsResponse): string {
  const j = tailJson(m);
  return [
    j.time,
    `seq ${j.seq}`,
    String(j.kind).padEnd(8),
    j.decision_id,
    j.tenant,
    j.model,
    j.endpoint_id ?? "-",
    j.outcome,
  ].join("  ");
}

/**
 * Streams the feed to `write` (which may wait: a slow writer slows the stream, and the server
 * then reads no further ahead). Returns the exit code and the sequence number to resume from.
 */
export async function tailCommand(
  o: TailOptions,
  write: (line: string) => Promise<void>,
): Promise<{ exitCode: number; nextSeq: number | undefined; error?: string }> {
  let nextSeq: number | undefined;
  try {
    if (o.from !== undefined && !/^\d+$/.test(o.from))
      throw new TailUsageError("--from: a sequence number (an integer ≥ 0)");
    const outcome = o.outcome === undefined ? Outcome.UNSPECIFIED : OUTCOME[o.outcome];
    if (outcome === undefined)
      throw new TailUsageError(`--outcome: one of ${Object.keys(OUTCOME).join(", ")}`);
    if (o.shard !== undefined && !/^\d+$/.test(o.shard))
      throw new TailUsageError("--shard: a log shard number (an integer ≥ 0)");
    const follow = o.follow ?? false;
    const fromSeq = o.from !== undefined ? BigInt(o.from) : follow ? undefined : 0n;
    const stream = serverClient(AuditService, o).watchDecisions(
      {
        fromSeq,
        follow,
        startTime: time("--since", o.since),
        endTime: time("--until", o.until),
        tenant: o.tenant ?? "",
        model: o.model ?? "",
        endpointId: o.endpoint ?? "",
        outcome,
        policyRevision: o.policyRevision ?? "",
        ...(o.shard !== undefined ? { shard: Number(o.shard) } : {}),
      },
      { signal: o.signal },
    );
    for await (const m of stream) {
      nextSeq = Number(m.nextSeq);
      if (m.entry === undefined) continue; // the caught-up marker
      await write(o.json ? JSON.stringify(tailJson(m)) : tailText(m));
    }
    return { exitCode: 0, nextSeq };
  } catch (err) {
    if (o.signal?.aborted) return { exitCode: 0, nextSeq };
    if (err instanceof TailUsageError) return { exitCode: 2, nextSeq, error: err.message };
    return { exitCode: 1, nextSeq, error: describeError(err) };
  }
}

/** Adds `sovr audit tail` to the `audit` command. */
export function addAuditTailCommand(audit: Command): void {
  audit
    .command("tail")
    .description("decision and outcome records of a running server as they commit (SOVR_URL, SOVR_KEY)")
    .option(
      "-f, --follow",
      "keep going: print entries as they commit (Ctrl-C stops and prints where to resume)",
    )
    .option("--json", 'one JSON object per line (docs/audit.md, "Live feed")')
    .option("--from <seq>", "first log sequence number (default: new entries with --follow, else 0)")
    .option("--since <time>", "decisions made at or after this ISO 8601 time")
    .option("--until <time>", "decisions made before this ISO 8601 time")
    .option("--tenant <tenant>")
    .option("--model <model>")
    .option("--endpoint <id>")
    .option("--outcome <outcome>", "success | failed | denied | pending (the decision's outcome as read)")
    .option("--policy-revision <revision>")
    .option("--shard <k>", "the log shard to follow (a sharded log: one tail per shard, or --tenant)")
    .action(async (o: TailOptions) => {
      const stop = new AbortController();
      const onSignal = () => stop.abort();
      process.once("SIGINT", onSignal);
      process.once("SIGTERM", onSignal);
      const write = async (line: string) => {
        if (!process.stdout.write(`${line}\n`)) await once(process.stdout, "drain");
      };
      const r = await tailCommand({ ...o, signal: stop.signal }, write);
      process.off("SIGINT", onSignal);
      process.off("SIGTERM", onSignal);
      if (r.error) console.error(`error: ${r.error}`);
      if (r.nextSeq !== undefined && (r.exitCode !== 0 || stop.signal.aborted))
        console.error(`resume with: sovr audit tail --from ${r.nextSeq}`);
      process.exitCode = r.exitCode;
    });
}
