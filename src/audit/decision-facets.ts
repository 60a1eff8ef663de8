/**
 * A decision's facets: what audit queries filter on that is not a column of the query index
 * (docs/audit.md §7.2), written with the decision's index row by the log's append statement.
 *
 * - `label:<category>` for each content label category the detectors found (counts > 0; also
 *   `label:unscannable` when parts could not be scanned), never a value;
 * - `modality:<m>` for each input modality;
 * - `excluded:<rule>` for each rule that excluded at least one candidate;
 * - `passed:<rule>` for each check applied to every candidate (record `applied`) that the
 *   planned endpoint passed — every applied check, when the decision routed (a planned
 *   endpoint is eligible), none when it was denied.
 */
import type { DecisionRecord } from "./record.js";

/** Label keys of the record's `labels` that are not categories (routing/content-labels.ts). */
const NOT_CATEGORIES = new Set(["detector", "unmaskable"]);

export function decisionFacets(record: DecisionRecord | Omit<DecisionRecord, "tenant_seq">): string[] {
  const r = record as DecisionRecord;
  const out = new Set<string>();
  if (r.v === 2) {
    for (const [k, v] of Object.entries(r.labels))
      if (!NOT_CATEGORIES.has(k) && v !== "0") out.add(`label:${k}`);
    for (const m of r.request.modalities) out.add(`modality:${m}`);
    for (const c of r.checks) out.add(`excluded:${c.rule}`);
    if (r.plan.length > 0) for (const a of r.applied ?? []) out.add(`passed:${a.rule}`);
  } else {
    for (const c of r.candidates) for (const e of c.exclusions) out.add(`excluded:${e.rule}`);
  }
  // Facets travel newline-separated into the append statement: none may hold a newline.
  return [...out].filter((f) => !f.includes("\n")).sort();
}
