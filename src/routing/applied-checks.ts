/**
 * The checks a decision applied to every candidate (issue 14: an allow is not just the absence
 * of a deny). The record lists them once (`applied`); each check that excluded a candidate
 * points back at the applied check it failed, so a reader gets, per candidate and per check,
 * passed or failed with the reason (audit/record-applied.ts).
 *
 * - policy: the reason prefixes the policy reports it applied (route document `checks`), e.g.
 *   "zdr: " → `{stage: "policy", rule: "zdr"}` (`check` only where it says more than the rule:
 *   "tenant acme: zdr"); the rule is named as the router
 *   names an exclusion's rule (the reason up to its first colon).
 * - filter: the request filters that could exclude a candidate of this request (filters.ts,
 *   parameters.ts), each by its rule; the policy's obligations (`redact`) and retention
 *   parameters, when the decision has any.
 *
 * Only what the request and the policy determine is listed, so a replay lists the same:
 * the availability checks (credentials, BYOK, reachability) and the key's provider scope are
 * live state, stated in the record when they exclude a candidate (as before), not as applied.
 */
import type { AppliedCheckRecord } from "../audit/index.js";
import type { PolicyDecision } from "../policy/index.js";
import { parameterClass, usedParameters } from "./parameters.js";
import type { RouteRequest } from "./types.js";

/** The checks applied, in a stable order: the policy's (sorted), then the request filters. */
export function appliedChecks(
  req: RouteRequest,
  policy: Pick<PolicyDecision, "applied" | "obligations">,
): AppliedCheckRecord[] {
  const out: AppliedCheckRecord[] = [];
  for (const prefix of policy.applied ?? []) {
    const check = prefix.replace(/:\s*$/, "");
    const rule = prefix.split(":")[0] ?? "policy";
    out.push(check === rule ? { stage: "policy", rule } : { stage: "policy", rule, check });
  }
  const filter = (rule: string, check = rule) =>
    out.push(check === rule ? { stage: "filter", rule } : { stage: "filter", rule, check });
  const p = req.provider;
  if (p.only && p.only.length > 0) filter("only", `only: ${p.only.join(", ")}`);
  if (p.ignore && p.ignore.length > 0) filter("ignore", `ignore: ${p.ignore.join(", ")}`);
  if (p.quantizations && p.quantizations.length > 0)
    filter("quantizations", `quantizations: ${p.quantizations.join(", ")}`);
  if (p.maxPrice?.prompt !== undefined || p.maxPrice?.completion !== undefined) filter("max_price");
  const used = usedParameters(req);
  if (used.length > 0) filter("parameters", `parameters: ${used.join(", ")}`);
  if (used.length > 0 && p.requireParameters) filter("require_parameters");
  filter("input_modalities");
  filter("kind", `kind: ${req.operation ?? "chat"}`);
  if (req.maxTokens !== undefined) filter("context_length", `context_length: max_tokens ${req.maxTokens}`);
  if (policy.obligations && Object.keys(policy.obligations).length > 0)
    out.push({ stage: "policy", rule: "redact" });
  if (used.some((u) => parameterClass(u) === "retention"))
    out.push({ stage: "policy", rule: "retention_parameters" });
  return out;
}
