/**
 * The auditor's filters of the decision query (issue 14, docs/audit.md §7.2) as SQL conditions on
 * `audit_decisions`: facets through its GIN index, key id through its index, and the endpoint's
 * catalog attributes (provider, headquarters, residency; inside or outside a region set) as a
 * semi-join on `audit_endpoint_facts` by (catalog_revision, endpoint_id) — the endpoint of a
 * row being the planned one until the outcome names the one used.
 */
import { type Expression, type ExpressionBuilder, type SqlBool, sql } from "kysely";
import type { Database } from "../db/index.js";

export interface DecisionFacetFilter {
  /** The API key id of the call. */
  keyId?: string;
  /** Provider slug of the endpoint. */
  provider?: string;
  /** The endpoint's effective residency country (ISO 3166-1 alpha-2). */
  country?: string;
  /** The endpoint's effective residency region ("eu", "us", …). */
  residencyRegion?: string;
  /** The provider's headquarters country. */
  headquarters?: string;
  /** The endpoint's residency country is one of these (a region set, catalog REGION_SETS). */
  insideCountries?: readonly string[];
  /** The endpoint's residency country is none of these, or unknown (not shown inside). */
  outsideCountries?: readonly string[];
  /** Each must be among the decision's facets (decision-facets.ts): `label:email`, `excluded:zdr`… */
  facets?: readonly string[];
}

/** Whether `f` needs the endpoint facts (ensureEndpointFacts before querying). */
export function needsEndpointFacts(f: DecisionFacetFilter): boolean {
  return Boolean(
    f.provider || f.country || f.residencyRegion || f.headquarters || f.insideCountries || f.outsideCountries,
  );
}

export function facetConditions(
  e: ExpressionBuilder<Database, "audit_decisions">,
  f: DecisionFacetFilter,
): Expression<SqlBool>[] {
  const parts: Expression<SqlBool>[] = [];
  if (f.keyId !== undefined) parts.push(e("audit_decisions.key_id", "=", f.keyId));
  if (f.facets && f.facets.length > 0)
    parts.push(sql<SqlBool>`audit_decisions.facets @> ${sql.val([...f.facets])}::text[]`);
  if (!needsEndpointFacts(f)) return parts;
  const facts: Expression<SqlBool>[] = [];
  if (f.provider) facts.push(sql<SqlBool>`f.provider = ${f.provider}`);
  if (f.country) facts.push(sql<SqlBool>`f.residency_country = ${f.country}`);
  if (f.residencyRegion) facts.push(sql<SqlBool>`f.residency_region = ${f.residencyRegion}`);
  if (f.headquarters) facts.push(sql<SqlBool>`f.headquarters = ${f.headquarters}`);
  if (f.insideCountries)
    facts.push(sql<SqlBool>`f.residency_country = any(${sql.val([...f.insideCountries])}::text[])`);
  if (f.outsideCountries)
    facts.push(
      sql<SqlBool>`(f.residency_country is null or not (f.residency_country = any(${sql.val([...f.outsideCountries])}::text[])))`,
    );
  parts.push(
    sql<SqlBool>`(audit_decisions.catalog_revision, audit_decisions.endpoint_id) in (select f.catalog_revision, f.endpoint_id from audit_endpoint_facts f where ${sql.join(facts, sql` and `)})`,
  );
  return parts;
}
