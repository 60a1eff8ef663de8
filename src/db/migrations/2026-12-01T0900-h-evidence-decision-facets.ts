import { type Kysely, sql } from "kysely";

/**
 * What auditors ask of the decisions' query index (issue 14, docs/audit.md §7.2), indexed so a
 * filtered page or count over a million decisions stays within a second or two:
 *
 * - `audit_decisions.facets`: per decision, what it says besides its columns, written by the
 *   log's append statement from the record (src/audit/decision-facets.ts): `label:<category>`
 *   for each content label category present, `modality:<m>`, `excluded:<rule>` for each rule
 *   that excluded a candidate and `passed:<rule>` for each applied check the planned endpoint
 *   passed. A GIN index answers "has this facet". NULL on rows older than the column.
 * - `audit_endpoint_facts`: per catalog revision and endpoint, its provider, headquarters and
 *   effective residency — the attributes the record refers to by `catalog_revision`. Filled
 *   from the stored revisions when a query needs them (revisions are immutable), and joined on
 *   (catalog_revision, endpoint_id): the endpoint of a row is the one used once the outcome is
 *   in, so the facts follow failover without another write on the hot path.
 * - Indexes for the filters that are selective alone: key id, endpoint, outcome, each with
 *   time so a page is read in order.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable("audit_decisions").addColumn("facets", sql`text[]`).execute();
  await sql`create index audit_decisions_facets_idx on audit_decisions using gin (facets)`.execute(db);
  for (const column of ["key_id", "endpoint_id", "outcome"])
    await db.schema
      .createIndex(`audit_decisions_${column}_idx`)
      .on("audit_decisions")
      .columns([column, "recorded_at", "decision_id"])
      .execute();
  await db.schema
    .createTable("audit_endpoint_facts")
    .addColumn("catalog_revision", "text", (c) => c.notNull())
    .addColumn("endpoint_id", "text", (c) => c.notNull())
    .addColumn("provider", "text", (c) => c.notNull())
    .addColumn("headquarters", "text")
    .addColumn("residency_region", "text")
    .addColumn("residency_country", "text")
    .addPrimaryKeyConstraint("audit_endpoint_facts_pk", ["catalog_revision", "endpoint_id"])
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable("audit_endpoint_facts").execute();
  for (const column of ["key_id", "endpoint_id", "outcome"])
    await db.schema.dropIndex(`audit_decisions_${column}_idx`).execute();
  await db.schema.dropIndex("audit_decisions_facets_idx").execute();
  await db.schema.alterTable("audit_decisions").dropColumn("facets").execute();
}
