/**
 * The checks a decision applied, and each candidate's result for each (issue 14, docs/audit.md
 * §1): a v2 decision record written since this change lists the checks it applied to every
 * candidate once, in `applied`, and each entry of `checks` (what excluded a candidate) names
 * the applied check it failed (`checks[k].applied`). A candidate therefore passed applied
 * check j exactly when none of its exclusions points at a check whose `applied` is j — an
 * allow is stated, not inferred from the absence of a deny.
 *
 * Records written before have no `applied`: {@link appliedResults} then gives the failures
 * only (result "failed"), which is all such a record says.
 */
import type { CheckRecord, DecisionRecord } from "./record.js";

/** One check applied to every candidate of a decision. */
export interface AppliedCheckRecord {
  stage: "policy" | "filter" | "availability";
  /** The rule, named as an exclusion names it ("zdr", "tenant acme", "only", "credentials"). */
  rule: string;
  /**
   * What was checked, when it says more than `rule`: the policy's reason prefix without its
   * colon ("tenant acme: zdr"), or the filter and its value ("only: sim-eu"). Absent: the rule.
   */
  check?: string;
}

/**
 * The applied check each check of `checks` is a failure of, set as `checks[k].applied` (left
 * out when none matches: a rule that denied directly, or a policy error). A policy check
 * matches by reason prefix (the longest), the others by stage and rule.
 */
export function linkChecks(
  checks: readonly CheckRecord[],
  applied: readonly AppliedCheckRecord[],
): CheckRecord[] {
  return checks.map((c) => {
    let best = -1;
    const checkOf = (a: AppliedCheckRecord) => a.check ?? a.rule;
    applied.forEach((a, j) => {
      if (a.stage !== c.stage || a.rule !== c.rule) return;
      if (a.stage === "policy" && a.check !== undefined && !c.reason.startsWith(`${a.check}:`)) return;
      if (best < 0 || checkOf(a).length > checkOf(applied[best]!).length) best = j;
    });
    return best < 0 ? { ...c } : { ...c, applied: best };
  });
}

/** One candidate's result for one check. */
export interface CheckResult {
  stage: string;
  rule: string;
  /** The applied check ("" for a failure the record links to no applied check). */
  check: string;
  result: "passed" | "failed";
  /** Why it failed; "" when passed. */
  reason: string;
}

/**
 * Per candidate (in candidate order), every applied check with its result, then the failures
 * linked to no applied check. For a record without `applied` (v1, earlier v2): the failures.
 */
export function appliedResults(record: DecisionRecord): { endpoint_id: string; checks: CheckResult[] }[] {
  if (record.v === 1)
    return record.candidates.map((c) => ({
      endpoint_id: c.endpoint_id,
      checks: c.exclusions.map((e) => ({ ...e, check: "", result: "failed" as const })),
    }));
  const applied = record.applied ?? [];
  return record.candidates.endpoint_id.map((endpoint_id, i) => {
    const failed = (record.candidates.exclusions[i] ?? []).map((k) => record.checks[k]!);
    const checks: CheckResult[] = applied.map((a, j) => {
      const f = failed.filter((c) => c.applied === j);
      return {
        stage: a.stage,
        rule: a.rule,
        check: a.check ?? a.rule,
        result: f.length > 0 ? "failed" : "passed",
        reason: f.map((c) => c.reason).join("; "),
      };
    });
    for (const c of failed)
      if (c.applied === undefined)
        checks.push({ stage: c.stage, rule: c.rule, check: "", result: "failed", reason: c.reason });
    return { endpoint_id, checks };
  });
}
