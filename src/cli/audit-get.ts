/**
 * `sovr audit get ID` (docs/audit.md §9, docs/policies.md §8): one decision record, and its
 * outcome once written, decoded and verified — signature and inclusion proof — against the
 * pinned keys or, without them, the keys the service publishes (said in the output).
 */
import { KeyRing, verifyEntryInclusion } from "../audit/index.js";
import { fromBase64 } from "../encoding/index.js";
import type { GetDecisionResponse, LogEntry } from "../gen/sovereign/v1/audit_pb.js";
import { auditClient, type ClientOptions, type CommandResult, entryEnvelope } from "./audit-commands.js";
import { checkDecisionProof, failed, isResult, pinned } from "./audit-receipts.js";
import { keyInfo } from "./audit-trust.js";

/**
 * `sovr audit get ID [--json] [--trusted-keys FILE]`: the decision record (and its outcome, once
 * written) decoded, with its signature and inclusion proof verified against the pinned keys, or
 * the service's published keys when none are pinned (said in the output: that shows only that
 * the service vouches for it). Exit 1 when a check fails.
 */
export async function getCommand(
  decisionId: string,
  o: ClientOptions & { trustedKeys?: string; json?: boolean },
): Promise<CommandResult> {
  const client = auditClient(o);
  let keys: { ring: KeyRing; origin?: string } | CommandResult;
  let trust: "pinned" | "published";
  if (o.trustedKeys !== undefined) {
    keys = await pinned(o.trustedKeys);
    trust = "pinned";
  } else {
    const published = await client.listSigningKeys({});
    keys = { ring: new KeyRing(published.keys.map(keyInfo)), origin: published.checkpointOrigin };
    trust = "published";
  }
  if (isResult(keys)) return keys;
  const res = await client.getDecision({ decisionId });
  if (!res.decision) return failed(`the service returned no record for ${decisionId}`);
  const proved = checkDecisionProof(res, keys);
  const outcome = res.outcome && res.outcomeProof && res.checkpoint && verifyOutcome(res, keys);
  const entries = [
    { name: "decision", e: res.decision },
    ...(res.outcome ? [{ name: "outcome", e: res.outcome }] : []),
  ].map(({ name, e }) => ({ name, ...plainEntry(e) }));
  const verified = {
    keys: trust,
    signature_and_inclusion: proved.ok ? `checkpoint size ${proved.size}` : null,
    ...(outcome === undefined ? {} : { outcome: outcome.ok ? "ok" : outcome.what }),
  };
  const ok = proved.ok && (outcome === undefined || outcome.ok);
  const problems = [
    ...(proved.ok ? [] : [`decision: ${proved.what}`]),
    ...(outcome && !outcome.ok ? [`outcome: ${outcome.what}`] : []),
  ];
  if (o.json) {
    const out = Object.fromEntries(entries.map(({ name, ...rest }) => [name, rest]));
    return {
      exitCode: ok ? 0 : 1,
      stdout: [JSON.stringify({ decision_id: decisionId, ...out, verified, ...(ok ? {} : { problems }) })],
      stderr: [],
    };
  }
  const head = ok
    ? `decision ${decisionId}: signature and inclusion proof (checkpoint size ${proved.ok ? proved.size : "?"}) verified against the ${trust === "pinned" ? "pinned keys" : "keys the service publishes (pin them with `sovr audit keys --out FILE` and pass --trusted-keys to check against yours)"}`
    : `decision ${decisionId}: NOT VERIFIED`;
  return {
    exitCode: ok ? 0 : 1,
    stdout: [
      head,
      ...entries.flatMap(({ name, seq, record }) => [
        `${name} (seq ${seq}):`,
        JSON.stringify(record, null, 2),
      ]),
    ],
    stderr: problems.map((p) => `FAILED: ${p}`),
  };
}

function verifyOutcome(res: GetDecisionResponse, keys: { ring: KeyRing; origin?: string }) {
  const v = verifyEntryInclusion({
    envelope: entryEnvelope(res.outcome!),
    seq: Number(res.outcome!.seq),
    proof: res.outcomeProof!.hashes,
    checkpoint: res.checkpoint!.signedNote,
    origin: keys.origin ?? res.checkpoint!.origin,
    ring: keys.ring,
  });
  return v.ok ? { ok: true as const } : v;
}

/** An entry as `get --json` prints it: seq, the record decoded, and the envelope to re-check. */
function plainEntry(e: LogEntry) {
  const envelope = entryEnvelope(e);
  let record: unknown;
  try {
    record = JSON.parse(Buffer.from(fromBase64(envelope.payload)).toString("utf8"));
  } catch {
    record = null;
  }
  return { seq: Number(e.seq), record, envelope };
}
