import { PolicyEvaluationError } from "./errors.js";
import type { PolicyDecision } from "./types.js";

/** Reason given for a candidate the policy neither allowed nor denied (fail closed). */
export const UNDECIDED_REASON = "policy: endpoint neither allowed nor denied by the policy (fail closed)";

/**
 * Turns the raw result set of `sovereign/route` (`[{result: {allow, deny}}]`) into a
 * {@link PolicyDecision} over exactly the candidate ids the policy was asked about.
 * `allow` keeps the candidates' order; reasons are sorted so records are deterministic.
 * Anything unexpected — wrong shape, unknown or doubly-decided ids, a deny without a
 * reason — is a {@link PolicyEvaluationError} of kind `malformed`; a candidate the policy
 * does not mention is denied with {@link UNDECIDED_REASON}.
 */
export function parseDecision(
  raw: unknown,
  candidateIds: readonly string[],
  candidates: ReadonlySet<string> = new Set(candidateIds),
): PolicyDecision {
  if (!Array.isArray(raw) || raw.length !== 1) malformed("expected exactly one result");
  const result = (raw[0] as { result?: unknown } | null)?.result;
  if (!isObject(result)) malformed("result is not an object");
  const { allow, deny } = result;
  if (!Array.isArray(allow)) malformed("allow is not an array");
  if (!isObject(deny)) malformed("deny is not an object");

  const allowed = new Set<string>();
  for (const id of allow) {
    if (typeof id !== "string") malformed("allow holds a non-string");
    if (!candidates.has(id)) malformed(`allow names unknown endpoint ${JSON.stringify(id)}`);
    allowed.add(id);
  }
  for (const id in deny) {
    if (!candidates.has(id)) malformed(`deny names unknown endpoint ${JSON.stringify(id)}`);
    if (allowed.has(id)) malformed(`endpoint ${JSON.stringify(id)} is both allowed and denied`);
    const reasons = deny[id];
    if (!Array.isArray(reasons) || reasons.length === 0)
      malformed(`deny of ${JSON.stringify(id)} has no reasons`);
    for (const r of reasons) {
      if (typeof r !== "string" || r === "")
        malformed(`deny of ${JSON.stringify(id)} holds a non-string reason`);
    }
  }

  // (`raw` is the engine's own fresh parse of the policy's output: its arrays can be reused.)
  const decision: PolicyDecision = { allow: [], deny: {} };
  for (const id of candidateIds) {
    if (allowed.has(id)) decision.allow.push(id);
    else decision.deny[id] = Object.hasOwn(deny, id) ? sortStrings(deny[id] as string[]) : [UNDECIDED_REASON];
  }
  return decision;
}

/**
 * Sorts in place in the order of `Array.prototype.sort()` for strings (UTF-16 code units);
 * an insertion sort, several times faster than `sort()` for the handful of reasons an
 * endpoint gets.
 */
export function sortStrings(a: string[]): string[] {
  if (a.length > 16) return a.sort();
  for (let i = 1; i < a.length; i++) {
    const x = a[i]!;
    let j = i - 1;
    while (j >= 0 && a[j]! > x) {
      a[j + 1] = a[j]!;
      j--;
    }
    a[j + 1] = x;
  }
  return a;
}

function malformed(message: string): never {
  throw new PolicyEvaluationError("malformed", message);
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}
