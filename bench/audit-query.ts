/**
 * Audit queries over a large decision index (issue 14, docs/audit.md §7.2): N synthetic index
 * rows (default 1,000,000) bulk-inserted with SQL generate_series into a fresh database with
 * the real migrations, then the first page (100 rows) and the count of representative
 * auditor's filters through the real query functions, timed (median of 5 after one warm-up),
 * with EXPLAIN of each first page to show which index answers it. PGlite and Postgres.
 * Targets: first page < 1 s, count < 2 s.
 *
 * Only the index is synthetic (no log entries, no signatures): these queries never read the
 * log. The distribution: 20 tenants, 1,000 keys, 30 endpoints of 10 providers in 3 catalog
 * revisions, 70 % of decisions in FR/DE and 30 % in the US; 90 % success, 5 % failed, 5 %
 * denied; 60 % had a candidate excluded by residency, 10 % by zdr; 2 % carry an email label.
 *
 * Run: DATABASE_URL=postgres://… node --import tsx bench/audit-query.ts [--n N] [--db pglite|postgres]
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Kysely, sql } from "kysely";
import { decisionFilterExpression } from "../src/audit/audit-store.js";
import { countDecisions, type DecisionFilter, queryDecisions } from "../src/audit/index.js";
import { EU_COUNTRY_CODES } from "../src/catalog/index.js";
import { type Database, openDatabase } from "../src/db/index.js";
import { scratchDatabase } from "./lib/scratch-db.js";

const arg = (name: string) => {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
};
const N = Number(arg("--n") ?? 1_000_000);
const only = arg("--db");
const RUNS = 5;
const CHUNK = 50_000;
const EU = [...EU_COUNTRY_CODES].sort();
const T0 = Date.parse("2026-11-01T00:00:00Z");
const DAY = 86_400_000;

const filters: Record<string, DecisionFilter> = {
  "outside EU": { outsideCountries: EU },
  "outside EU, one tenant, last day": {
    outsideCountries: EU,
    tenant: "tenant-7",
    from: new Date(T0 + 29 * DAY),
  },
  "inside EU": { insideCountries: EU },
  "country US": { country: "US" },
  "provider p3": { provider: "p3" },
  "headquarters US": { headquarters: "US" },
  "excluded by zdr": { facets: ["excluded:zdr"] },
  "passed residency": { facets: ["passed:residency"] },
  "label email": { facets: ["label:email"] },
  "key k-42": { keyId: "k-42" },
  "outcome denied": { outcome: "denied" },
  "label email outside EU, one tenant": { facets: ["label:email"], outsideCountries: EU, tenant: "tenant-3" },
};

async function seed(db: Kysely<Database>): Promise<void> {
  // h: a hash of the row number, so that endpoint, facets, tenant and key are not correlated.
  // 3 revisions × 30 endpoints; endpoint e<i> of provider p<i % 10>; providers 0–6 in FR or DE, 7–9 in the US.
  await sql`
    insert into audit_endpoint_facts (catalog_revision, endpoint_id, provider, headquarters, residency_region, residency_country)
    select 'rev-' || r, 'e' || e, 'p' || (e % 10),
           case when e % 10 >= 7 then 'US' else 'FR' end,
           case when e % 10 >= 7 then 'us' else 'eu' end,
           case when e % 10 >= 7 then 'US' when e % 2 = 0 then 'FR' else 'DE' end
    from generate_series(0, 2) r, generate_series(0, 29) e`.execute(db);
  // In chunks: one statement over a million rows outlasts the embedded database's stall guard.
  for (let lo = 0; lo < N; lo += CHUNK)
    await sql`
    insert into audit_decisions (decision_id, recorded_at, tenant, model, endpoint_id, outcome,
      policy_revision, policy_sha256, catalog_revision, decision_seq, outcome_seq, key_id,
      input_tokens, output_tokens, cost_micro_usd, facets)
    select lpad(to_hex(i), 12, '0'),
           ${new Date(T0).toISOString()}::timestamptz + (i * (30.0 * 86400 / ${N})) * interval '1 second',
           'tenant-' || (i % 20), 'm' || (i % 5),
           case when i % 20 = 19 then null else 'e' || (h % 30) end,
           case when i % 20 = 19 then 'denied' when i % 20 = 18 then 'failed' else 'success' end,
           'pol-' || (i / ${Math.ceil(N / 4)}), 'sha', 'rev-' || (i * 3 / ${N}),
           2 * i, 2 * i + 1, 'k-' || (i % 1000), 100, 50, 10,
           array_remove(array[
             'modality:text',
             case when (h / 15000) % 10 < 6 then 'excluded:residency' end,
             case when (h / 15000) % 10 < 6 and i % 20 <> 19 then 'passed:residency' end,
             case when (h / 1500) % 10 = 7 then 'excluded:zdr' end,
             case when (h / 30) % 50 = 0 then 'label:email' end
           ], null)
    from generate_series(${sql.lit(lo)}, ${sql.lit(Math.min(N, lo + CHUNK) - 1)}) i, lateral (select abs(hashint4(i)::int8) as h) x`.execute(
      db,
    );
  await sql`analyze`.execute(db);
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function time(fn: () => Promise<unknown>): Promise<number> {
  await fn();
  const ms: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const t = performance.now();
    await fn();
    ms.push(performance.now() - t);
  }
  return median(ms);
}

/** The plan's scan nodes, e.g. "Index Scan using audit_decisions_time_idx". */
async function plan(db: Kysely<Database>, filter: DecisionFilter): Promise<string> {
  const q = db
    .selectFrom("audit_decisions")
    .selectAll()
    .where((eb) => decisionFilterExpression(eb, filter))
    .orderBy("recorded_at")
    .orderBy("decision_id")
    .limit(101)
    .compile();
  const r = await db.executeQuery<{ "QUERY PLAN": string }>({
    ...q,
    sql: `explain ${q.sql}`,
  });
  return r.rows
    .map((x) => x["QUERY PLAN"])
    .filter((l) => /Scan|Join|Sort/.test(l))
    .map((l) => l.trim().replace(/\s+\(cost.*$/, ""))
    .join(" | ");
}

async function run(kind: "pglite" | "postgres") {
  let cleanup = async () => {};
  let url: string | undefined;
  let dataDir: string | undefined;
  if (kind === "postgres") {
    if (!process.env.DATABASE_URL) throw new Error("DATABASE_URL is not set");
    const scratch = await scratchDatabase(process.env.DATABASE_URL, "audit_query");
    url = scratch.url;
    cleanup = scratch.drop;
  } else {
    dataDir = await mkdtemp(join(tmpdir(), "sovr-bench-aq-"));
    cleanup = () => rm(dataDir!, { recursive: true, force: true });
  }
  const handle = await openDatabase({ databaseUrl: url, dataDir });
  try {
    const t = performance.now();
    await seed(handle.db);
    const seedS = (performance.now() - t) / 1000;
    const results: Record<
      string,
      { page_ms: number; rows: number; count_ms: number; count: number; plan: string }
    > = {};
    for (const [name, filter] of Object.entries(filters)) {
      let rows = 0;
      let count = 0;
      const page_ms = await time(async () => {
        rows = (await queryDecisions(handle.db, filter, 100)).rows.length;
      });
      const count_ms = await time(async () => {
        count = await countDecisions(handle.db, filter);
      });
      results[name] = {
        page_ms: Math.round(page_ms * 10) / 10,
        rows,
        count_ms: Math.round(count_ms * 10) / 10,
        count,
        plan: await plan(handle.db, filter),
      };
      process.stderr.write(
        `${kind} ${name}: page ${results[name].page_ms} ms, count ${results[name].count_ms} ms\n`,
      );
    }
    return { database: kind, rows: N, seed_s: Math.round(seedS), results };
  } finally {
    await handle.close();
    await cleanup();
  }
}

const out = [];
for (const kind of ["postgres", "pglite"] as const) if (!only || only === kind) out.push(await run(kind));
console.log(JSON.stringify(out, null, 2));
