/**
 * Per catalog revision and endpoint, the attributes an audit query filters on — provider,
 * headquarters, effective residency region and country — in `audit_endpoint_facts`
 * (migration 2026-12-01T0900-h-evidence-decision-facets). A decision refers to its candidates'
 * attributes by `catalog_revision`; a revision is immutable, so its facts are derived once,
 * from the stored canonical catalog, the first time a query needs them.
 */
import type { Kysely } from "kysely";
import { type CatalogSnapshot, snapshotFromCanonical } from "../catalog/index.js";
import type { AuditEndpointFactsTable, Database } from "../db/index.js";

/** The facts rows of one catalog snapshot. */
export function endpointFacts(snapshot: CatalogSnapshot): AuditEndpointFactsTable[] {
  return snapshot.endpoints.map((e) => ({
    catalog_revision: snapshot.revision,
    endpoint_id: e.id,
    provider: e.provider,
    headquarters: e.providerHeadquarters,
    residency_region: e.policy.residency.value.region ?? null,
    residency_country: e.policy.residency.value.country ?? null,
  }));
}

/** Revisions whose facts this process has written or found (immutable: never re-read). */
const done = new WeakMap<Kysely<Database>, Set<string>>();

/**
 * Writes the facts of every stored catalog revision that has none yet. Idempotent and safe to
 * run concurrently (conflicting rows are skipped). A revision that cannot be rebuilt (a
 * catalog that no longer validates) gets no facts: its decisions match no residency filter,
 * which reads as "not shown inside", never as inside.
 */
export async function ensureEndpointFacts(db: Kysely<Database>): Promise<void> {
  const seen = done.get(db) ?? new Set<string>();
  done.set(db, seen);
  const missing = await db
    .selectFrom("catalog_revisions")
    .select("revision")
    .where(({ not, exists, selectFrom }) =>
      not(
        exists(
          selectFrom("audit_endpoint_facts as f")
            .select("f.endpoint_id")
            .whereRef("f.catalog_revision", "=", "catalog_revisions.revision"),
        ),
      ),
    )
    .execute();
  for (const { revision } of missing) {
    if (seen.has(revision)) continue;
    seen.add(revision);
    const row = await db
      .selectFrom("catalog_revisions")
      .select("canonical")
      .where("revision", "=", revision)
      .executeTakeFirst();
    let rows: AuditEndpointFactsTable[];
    try {
      rows = endpointFacts(snapshotFromCanonical(row!.canonical));
    } catch {
      continue;
    }
    for (let i = 0; i < rows.length; i += 500)
      await db
        .insertInto("audit_endpoint_facts")
        .values(rows.slice(i, i + 500))
        .onConflict((oc) => oc.columns(["catalog_revision", "endpoint_id"]).doNothing())
        .execute();
  }
}
