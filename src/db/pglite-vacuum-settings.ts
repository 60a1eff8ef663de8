/**
 * Vacuum settings of the embedded database (its thread vacuums: pglite-vacuum.mjs). On a
 * Postgres server autovacuum works beside the sessions; here a vacuum holds the one session
 * every request's record waits for, so what matters is that no single vacuum is long:
 *
 * - `autovacuum_vacuum_insert_scale_factor=0`: a table is vacuumed once 1,000 rows
 *   (`autovacuum_vacuum_insert_threshold`) were inserted since its last vacuum, not once a fifth
 *   of the table was — which on an append-only log meant a vacuum reading a fifth of the log,
 *   longer with every day of history. With the thread looking every 2 s, a vacuum reads the
 *   pages written in the last seconds (the visibility map skips the rest).
 * - `vacuum_freeze_min_age=0`, `vacuum_multixact_freeze_min_age=0`: those vacuums freeze what
 *   they read, so every page is all-frozen once vacuumed, and the vacuum that transaction id
 *   age forces (`autovacuum_freeze_max_age`, every 200 million transactions) skips them; with
 *   the default 50 million it would reread every page written in the last days, in one go.
 *
 * - `autovacuum_analyze_threshold=50000`: an analyze once 50,000 rows changed plus a tenth of
 *   the table (`autovacuum_analyze_scale_factor`), not 50 plus a tenth: small tables that grow
 *   under load were otherwise analyzed on every look. A table never analyzed is analyzed at
 *   start-up (pglite-vacuum.mjs), so small tables have statistics too.
 * - `default_statistics_target=10`: an analyze samples 300 × the target rows (30,000 at
 *   Postgres's 100): 200–300 ms on the log's tables at 100, 57–81 ms on `audit_decisions` at 25
 *   — long enough that a 4-second cell of 500 requests/s with one in it had its p99 there.
 *   3,000 rows take 30–41 ms there; the auditors' filters keep most-common-value lists and histograms
 *   of 10 entries (the 1,000,000-row audit queries keep their plans: bench/findings.md).
 *
 * Measured in bench/findings.md (session 8); docs/operations.md, "Vacuum of the embedded database".
 */
export function embeddedVacuumSettings(): string[] {
  return [
    "-c",
    "autovacuum_vacuum_insert_scale_factor=0",
    "-c",
    "vacuum_freeze_min_age=0",
    "-c",
    "vacuum_multixact_freeze_min_age=0",
    "-c",
    "autovacuum_analyze_threshold=50000",
    "-c",
    "default_statistics_target=10",
  ];
}
