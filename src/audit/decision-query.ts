/**
 * What the decision query adds for auditors (issue 14, docs/audit.md §7.2): a filtered count, and
 * the records of a page (decision and outcome payloads, as signed), so `sovr audit query --json`
 * prints full records without one GetDecision per hit.
 */
import type { Kysely } from "kysely";
import type { Database } from "../db/index.js";
import { type DecisionFilter, decisionFilterExpression, toEntry } from "./audit-store.js";
import { needsEndpointFacts } from "./decision-facet-filter.js";
import { ensureEndpointFacts } from "./endpoint-facts.js";

/** How many decisions match `filter`. */
export async function countDecisions(db: Kysely<Database>, filter: DecisionFilter): Promise<number> {
  if (needsEndpointFacts(filter)) await ensureEndpointFacts(db);
  const { n } = await db
    .selectFrom("audit_decisions")
    .select((eb) => eb.fn.countAll<string | number>().as("n"))
    .where((eb) => decisionFilterExpression(eb, filter))
    .executeTakeFirstOrThrow();
  return Number(n);
}

/** The signed payloads (canonical JSON bytes) of these decisions' records, by decision id. */
export async function decisionPayloads(
  db: Kysely<Database>,
  decisionIds: readonly string[],
): Promise<Map<string, { decision?: Uint8Array; outcome?: Uint8Array }>> {
  const out = new Map<string, { decision?: Uint8Array; outcome?: Uint8Array }>();
  if (decisionIds.length === 0) return out;
  const rows = await db.selectFrom("audit_log").selectAll().where("decision_id", "in", decisionIds).execute();
  for (const row of rows) {
    const entry = toEntry(row);
    if (entry.kind === "admin") continue;
    const slot = out.get(entry.decisionId) ?? {};
    slot[entry.kind] = Buffer.from(entry.envelope.payload, "base64");
    out.set(entry.decisionId, slot);
  }
  return out;
}
