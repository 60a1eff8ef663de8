/**
 * Obligations (issue 16): the policy may allow an endpoint only if the router does something
 * first — `redact: [category…]`, mask those spans before the prompt leaves (redact.ts) and
 * restore them in the answer (unredact-stream.ts). An obligation the router cannot apply
 * excludes the endpoint (fail closed): no detector, a part that cannot be scanned, or a named
 * category found in a PDF (its text is read, but the router does not rewrite PDFs); the ones
 * it will apply are named in the record.
 */
import type { EndpointObligations } from "../policy/index.js";
import type { CandidateVerdict, ContentLabels, Exclusion, RouteRequest } from "./types.js";

/** Why `obligations` cannot be applied to `req`, or undefined when they can. */
export function obligationExclusion(
  obligations: EndpointObligations,
  req: RouteRequest,
  labels: ContentLabels | undefined,
): Exclusion | undefined {
  const inPdf = labels?.unmaskable?.filter((c) => obligations.redact.includes(c)) ?? [];
  const why = !labels
    ? "no content detector is configured"
    : labels.unscannable > 0
      ? `${labels.unscannable} part(s) cannot be scanned`
      : req.operation === "embedding"
        ? "embedding inputs are not redacted"
        : inPdf.length > 0
          ? `a PDF holds ${inPdf.join(", ")}, which cannot be masked inside it`
          : undefined;
  if (!why) return undefined;
  return {
    stage: "policy",
    rule: "redact",
    reason: `redact: obligation to redact ${obligations.redact.join(", ")} cannot be applied: ${why} (fail closed)`,
  };
}

/**
 * The record's `obligations`: one entry per planned endpoint that has any, in plan order,
 * `redact:<category>,<category>@<endpoint id>` — categories, never content.
 */
export function obligationsToRecord(
  verdicts: readonly CandidateVerdict[],
  plan: readonly string[],
): string[] {
  const byId = new Map(verdicts.map((v) => [v.endpoint.id, v.obligations]));
  const out: string[] = [];
  for (const id of plan) {
    const o = byId.get(id);
    if (o) out.push(`redact:${o.redact.join(",")}@${id}`);
  }
  return out;
}
