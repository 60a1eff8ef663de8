/**
 * Candidates of a decision record in either format. v1 writes one object per candidate with its
 * exclusions spelled out; v2 writes columns whose exclusions point into one list of `checks`
 * (each distinct check once), which is what keeps a 50-candidate record within 4 KB. Code that
 * reads candidates (replay, the AuditService) reads them as rows through {@link candidateRows},
 * whatever the format.
 */
import type {
  CandidateColumns,
  CandidateRecord,
  CheckRecord,
  DecisionRecord,
  DecisionRecordV2,
  Unsequenced,
} from "./record.js";

/** One candidate as a row: v1's candidate without its model (v2 refers to the catalog for it). */
export type CandidateRow = Omit<CandidateRecord, "model">;

/** The candidates of a decision record, in candidate order, as rows. */
export function candidateRows(record: DecisionRecord | Unsequenced<DecisionRecordV2>): CandidateRow[] {
  if (record.v === 1)
    return record.candidates.map(({ model: _model, ...row }) => ({
      ...row,
      exclusions: row.exclusions.map((e) => ({ stage: e.stage, rule: e.rule, reason: e.reason })),
    }));
  const c = record.candidates;
  const unhealthy = new Set(c.unhealthy);
  const performance = new Map(c.performance.map(([i, ttft, tps]) => [i, { ttft, tps }]));
  return c.endpoint_id.map((endpoint_id, i) => {
    const exclusions = (c.exclusions[i] ?? []).map((k) => {
      const check = record.checks[k]!;
      return { stage: check.stage, rule: check.rule, reason: check.reason };
    });
    return {
      endpoint_id,
      eligible: exclusions.length === 0,
      exclusions,
      weight_ppb: c.weight_ppb[i]!,
      unhealthy: unhealthy.has(i),
      ttft_us: performance.get(i)?.ttft ?? null,
      tokens_per_second_milli: performance.get(i)?.tps ?? null,
    };
  });
}

/**
 * Rows → the v2 columns and the list of checks they refer to, checks in order of first use.
 * An exclusion's stage must be one of the three the router has.
 */
export function candidateColumns(rows: readonly Omit<CandidateRow, "eligible">[]): {
  checks: CheckRecord[];
  candidates: CandidateColumns;
} {
  const checks: CheckRecord[] = [];
  const index = new Map<string, number>();
  const candidates: CandidateColumns = {
    endpoint_id: [],
    exclusions: [],
    weight_ppb: [],
    unhealthy: [],
    performance: [],
  };
  rows.forEach((row, i) => {
    candidates.endpoint_id.push(row.endpoint_id);
    candidates.exclusions.push(
      row.exclusions.map((e) => {
        const key = JSON.stringify([e.stage, e.rule, e.reason]);
        let k = index.get(key);
        if (k === undefined) {
          k = checks.length;
          index.set(key, k);
          checks.push({ stage: e.stage as CheckRecord["stage"], rule: e.rule, reason: e.reason });
        }
        return k;
      }),
    );
    candidates.weight_ppb.push(row.weight_ppb);
    if (row.unhealthy) candidates.unhealthy.push(i);
    if (row.ttft_us !== null || row.tokens_per_second_milli !== null)
      candidates.performance.push([i, row.ttft_us, row.tokens_per_second_milli]);
  });
  return { checks, candidates };
}
