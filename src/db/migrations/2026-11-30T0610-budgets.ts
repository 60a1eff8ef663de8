import { type Kysely, sql } from "kysely";

/**
 * Budgets (issue 17, docs/budgets.md): limits per tenant or per key and per UTC day or month
 * (`budgets`), what each window has used (`budget_usage`, reservations included), and the
 * reservations of each decision (`budget_holds`), settled from the outcome's actual usage.
 * `key_id` is '' for a tenant-wide budget (so the natural key can be the primary key).
 * Usage and holds are written only inside the audit log's batch transaction (under the
 * sequencer lock on Postgres): see src/budget/budget-ledger.ts.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable("budgets")
    .addColumn("tenant", "text", (c) => c.notNull())
    .addColumn("key_id", "text", (c) => c.notNull())
    .addColumn("period", "text", (c) => c.notNull().check(sql`period in ('day', 'month')`))
    .addColumn("usd_micros", "bigint", (c) => c.check(sql`usd_micros >= 0`))
    .addColumn("tokens", "bigint", (c) => c.check(sql`tokens >= 0`))
    .addColumn("updated_at", "timestamptz", (c) => c.notNull().defaultTo(sql`now()`))
    .addPrimaryKeyConstraint("budgets_pk", ["tenant", "key_id", "period"])
    .execute();
  await db.schema
    .createTable("budget_usage")
    .addColumn("tenant", "text", (c) => c.notNull())
    .addColumn("key_id", "text", (c) => c.notNull())
    .addColumn("period", "text", (c) => c.notNull())
    .addColumn("window_start", "timestamptz", (c) => c.notNull())
    .addColumn("usd_micros", "bigint", (c) => c.notNull())
    .addColumn("tokens", "bigint", (c) => c.notNull())
    .addPrimaryKeyConstraint("budget_usage_pk", ["tenant", "key_id", "period", "window_start"])
    .execute();
  await db.schema
    .createTable("budget_holds")
    .addColumn("decision_id", "text", (c) => c.notNull())
    .addColumn("tenant", "text", (c) => c.notNull())
    .addColumn("key_id", "text", (c) => c.notNull())
    .addColumn("period", "text", (c) => c.notNull())
    .addColumn("window_start", "timestamptz", (c) => c.notNull())
    .addColumn("usd_micros", "bigint", (c) => c.notNull())
    .addColumn("tokens", "bigint", (c) => c.notNull())
    .addColumn("settled", "boolean", (c) => c.notNull())
    .addPrimaryKeyConstraint("budget_holds_pk", ["decision_id", "key_id", "period"])
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable("budget_holds").execute();
  await db.schema.dropTable("budget_usage").execute();
  await db.schema.dropTable("budgets").execute();
}
