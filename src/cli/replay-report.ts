/**
 * How `sovr audit replay` reports a ReplayDecisionResponse: MATCH, or what changed candidate by
 * candidate (`before → after`, with the rule, stage and reason), the plan and the obligations;
 * `--json` gives the same as one object.
 */
import type {
  CandidateChange,
  CandidateVerdict,
  ReplayDecisionResponse,
} from "../gen/sovereign/v1/audit_pb.js";
import { ExclusionStage, type RoutingDecision } from "../gen/sovereign/v1/router_pb.js";

const STAGE: Partial<Record<ExclusionStage, string>> = {
  [ExclusionStage.POLICY]: "policy",
  [ExclusionStage.FILTER]: "filter",
  [ExclusionStage.AVAILABILITY]: "availability",
};

const policyOf = (d: RoutingDecision | undefined) =>
  `${d?.policy?.revision.slice(0, 12) ?? "?"} (sha256 ${d?.policy?.sha256.slice(0, 12) ?? "?"})`;
const planOf = (d: RoutingDecision | undefined) => (d?.plan ?? []).join(" → ") || "(none)";

function verdictText(v: CandidateVerdict | undefined): string {
  if (!v) return "not a candidate";
  if (v.eligible) return "eligible";
  return `excluded by ${v.exclusions
    .map((e) => `rule ${e.rule} at stage ${STAGE[e.stage] ?? "?"} (${JSON.stringify(e.reason)})`)
    .join(", ")}`;
}

const changeText = (c: CandidateChange) =>
  `${c.endpointId}: ${verdictText(c.before)} → ${verdictText(c.after)}`;

/** The human-readable report: a head line, then MATCH or DIFFERS with one line per change. */
export function replayLines(decisionId: string, r: ReplayDecisionResponse, livePolicy: boolean): string[] {
  const head = `decision ${decisionId}: recorded with policy ${policyOf(r.recorded)}, replayed with ${policyOf(r.replayed)}${
    livePolicy ? " (live policy)" : ""
  }`;
  const lines = [head];
  if (r.bundleChanged)
    lines.push(
      `note: replayed with bundle ${policyOf(r.replayed)}, recorded with ${policyOf(r.recorded)}: compared by decision (plan, verdicts, obligations)`,
    );
  if (r.match) {
    lines.push(`MATCH: plan ${planOf(r.replayed)}`);
    return lines;
  }
  const changes = [
    ...r.candidateChanges.map((c) => `  ${changeText(c)}`),
    ...(r.planChanged ? [`  plan: ${planOf(r.recorded)} → ${planOf(r.replayed)}`] : []),
    ...(r.obligationsChanged
      ? [
          `  obligations: ${JSON.stringify(r.recorded?.obligations ?? [])} → ${JSON.stringify(r.replayed?.obligations ?? [])}`,
        ]
      : []),
  ];
  // With the recorded bundle, a mismatch is a replay that does not reproduce the record: every
  // field difference matters. With another bundle, the changes above are the answer.
  const fields = r.bundleChanged ? [] : r.differences.map((d) => `  ${d}`);
  lines.push(
    `DIFFERS (${changes.length > 0 ? `${r.candidateChanges.length} candidate(s) changed` : `${fields.length} field(s)`}):`,
  );
  lines.push(...changes);
  if (fields.length > 0) {
    if (changes.length > 0) lines.push("field differences:");
    lines.push(...fields);
  }
  return lines;
}

const verdictJson = (v: CandidateVerdict | undefined) =>
  v && {
    eligible: v.eligible,
    exclusions: v.exclusions.map((e) => ({
      stage: STAGE[e.stage] ?? "unspecified",
      rule: e.rule,
      reason: e.reason,
    })),
  };

/** The `--json` object (snake_case, as the records). */
export function replayJson(r: ReplayDecisionResponse): object {
  const policy = (d: RoutingDecision | undefined) => ({
    revision: d?.policy?.revision,
    sha256: d?.policy?.sha256,
  });
  return {
    match: r.match,
    bundle_changed: r.bundleChanged,
    recorded_policy: policy(r.recorded),
    replayed_policy: policy(r.replayed),
    plan_changed: r.planChanged,
    recorded_plan: r.recorded?.plan,
    replayed_plan: r.replayed?.plan,
    obligations_changed: r.obligationsChanged,
    candidate_changes: r.candidateChanges.map((c) => ({
      endpoint_id: c.endpointId,
      before: verdictJson(c.before),
      after: verdictJson(c.after),
    })),
    differences: r.differences,
  };
}
