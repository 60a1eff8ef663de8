/**
 * What a decision decided, as opposed to how it was recorded: the plan, each candidate's
 * verdict (eligible, or excluded by which rules at which stages) and the obligations. Replay
 * with another bundle (`--live-policy`, policy impact) compares these: a different bundle
 * revision, reworded reasons or a v1/v2 layout are not a different decision.
 */
import { type CandidateRow, candidateRows, type DecisionRecord } from "../audit/index.js";
import type { DecisionRecordV1 } from "../routing/index.js";

/** One exclusion as a verdict names it; the reason says why (it is shown, not compared). */
export interface VerdictExclusion {
  stage: string;
  rule: string;
  reason: string;
}

/** A candidate's verdict: eligible, or excluded by these rules. */
export interface Verdict {
  eligible: boolean;
  exclusions: VerdictExclusion[];
}

/** A candidate whose verdict differs; `before`/`after` is absent when it was not a candidate then. */
export interface CandidateChange {
  endpointId: string;
  before?: Verdict;
  after?: Verdict;
}

/** The decision-level changes between a recorded decision and its replay. */
export interface DecisionChanges {
  /** Candidates whose verdict changed, in the recorded candidate order (then new ones). */
  candidates: CandidateChange[];
  /** The plan differs (other endpoints, or the same ones in another order). */
  planChanged: boolean;
  /** The obligations attached to the decision differ. */
  obligationsChanged: boolean;
}

type AnyRecord = DecisionRecord | DecisionRecordV1;

const verdictOf = (c: CandidateRow): Verdict => ({
  eligible: c.eligible,
  exclusions: c.exclusions.map((e) => ({ stage: e.stage, rule: e.rule, reason: e.reason })),
});

/** Verdicts are equal when eligibility and the set of (stage, rule) exclusions are. */
export function sameVerdict(a: Verdict, b: Verdict): boolean {
  if (a.eligible !== b.eligible) return false;
  const key = (v: Verdict) =>
    [...new Set(v.exclusions.map((e) => `${e.stage}\u0000${e.rule}`))].sort().join("\u0001");
  return key(a) === key(b);
}

/** What changed between `recorded` and `replayed`, decision-wise. */
export function decisionChanges(recorded: AnyRecord, replayed: AnyRecord): DecisionChanges {
  const before = new Map(candidateRows(recorded).map((c) => [c.endpoint_id, verdictOf(c)]));
  const after = new Map(candidateRows(replayed).map((c) => [c.endpoint_id, verdictOf(c)]));
  const candidates: CandidateChange[] = [];
  for (const endpointId of new Set([...before.keys(), ...after.keys()])) {
    const b = before.get(endpointId);
    const a = after.get(endpointId);
    if (b && a && sameVerdict(b, a)) continue;
    candidates.push({ endpointId, ...(b ? { before: b } : {}), ...(a ? { after: a } : {}) });
  }
  const same = (x: readonly string[], y: readonly string[]) =>
    x.length === y.length && x.every((v, i) => v === y[i]);
  const obligations = (r: AnyRecord) => [...("obligations" in r ? r.obligations : [])].sort();
  return {
    candidates,
    planChanged: !same(recorded.plan, replayed.plan),
    // v1 records had no obligations: nothing to compare them with.
    obligationsChanged: recorded.v !== 1 && !same(obligations(recorded), obligations(replayed)),
  };
}

/** No candidate's verdict, nor the plan, nor the obligations changed. */
export function unchanged(c: DecisionChanges): boolean {
  return c.candidates.length === 0 && !c.planChanged && !c.obligationsChanged;
}

/** `eligible` or `excluded by policy:zdr ("reason"), …`, for people. */
export function describeVerdict(v: Verdict | undefined): string {
  if (!v) return "not a candidate";
  if (v.eligible) return "eligible";
  return `excluded by ${v.exclusions.map((e) => `${e.stage}:${e.rule} (${JSON.stringify(e.reason)})`).join(", ")}`;
}

/** One line per change: `endpoint: before → after`. */
export function describeChange(c: CandidateChange): string {
  return `${c.endpointId}: ${describeVerdict(c.before)} → ${describeVerdict(c.after)}`;
}
