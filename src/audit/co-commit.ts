import type { Kysely, Transaction } from "kysely";
import type { Database } from "../db/index.js";
import type { AppendRequest, DecisionIndex } from "./audit-log.js";

/**
 * Database work that commits, or rolls back, with the records it rides on: a budget
 * reservation with its decision record, a settlement with its outcome record (src/budget).
 * The audit log knows nothing of budgets: it hands each batch's works to the hook inside the
 * batch's transaction (under the sequencer lock on Postgres, so replicas take turns), before the
 * records are written. A work the hook refuses does not fail the batch: its record is written in
 * its refused form instead (a denial), signed like any other.
 */
export interface CoCommitHook {
  /**
   * Does `works` (in log order) and returns, per work, undefined (done) or why it was refused.
   * Throwing fails the whole batch (nothing of it is written).
   */
  run(db: Kysely<Database> | Transaction<Database>, works: readonly unknown[]): Promise<readonly unknown[]>;
}

/** A record's refused form, for when the hook refuses its work (a decision → a denial). */
export type RefusedForm = (refusal: unknown) => {
  encode: (tenantSeq: number) => Uint8Array;
  index: DecisionIndex;
};

/**
 * The request a refused work leaves: its refused form (same tenant, so the same tenant_seq), no
 * work. Only a v2 decision record with a refused form can be refused.
 */
export function refusedRequest(req: AppendRequest, refusal: unknown): AppendRequest {
  if (req.kind !== "decision" || !req.refused || !("tenant" in req))
    throw new Error("co-commit refused a record that has no refused form");
  const form = req.refused(refusal);
  const { work: _w, refused: _r, ...rest } = req;
  return { ...rest, encode: form.encode, index: form.index };
}
