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
export function parseDecision(raw: unknown, candidateIds: readonly string[]): PolicyDecision {
  if (!Array.isArray(raw) || raw.length !== 1) malformed("expected exactly one result");
  const result = (raw[0] as { result?: unknown } | null)?.result;
  if (!isObject(result)) malformed("result is not an object");
  const { allow, deny } = result;
  if (!Array.isArray(allow)) malformed("allow is not an array");
  if (!isObject(deny)) malformed("deny is not an object");

  const candidates = new Set(candidateIds);
  const allowed = new Set<string>();
  for (const id of allow) {
    if (typeof id !== "string") malformed("allow holds a non-string");
    if (!candidates.has(id)) malformed(`allow names unknown endpoint ${JSON.stringify(id)}`);
    allowed.add(id);
  }
  for (const [id, reasons] of Object.entries(deny)) {
    if (!candidates.has(id)) malformed(`deny names unknown endpoint ${JSON.stringify(id)}`);
    if (allowed.has(id)) malformed(`endpoint ${JSON.stringify(id)} is both allowed and denied`);
    if (!Array.isArray(reasons) || reasons.length === 0)
      malformed(`deny of ${JSON.stringify(id)} has no reasons`);
    for (const r of reasons) {
      if (typeof r !== "string" || r === "")
        malformed(`deny of ${JSON.stringify(id)} holds a non-string reason`);
    }
  }

  const decision: PolicyDecision = { allow: [], deny: {} };
  for (const id of candidateIds) {
    if (allowed.has(id)) decision.allow.push(id);
    else
      decision.deny[id] = Object.hasOwn(deny, id) ? [...(deny[id] as string[])].sort() : [UNDECIDED_REASON];
  }
  return decision;
}

function malformed(message: string): never {
  throw new PolicyEvaluationError("malformed", message);
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}
