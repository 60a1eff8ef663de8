/**
 * Vacuum settings of the embedded database (its thread vacuums: pglite-vacuum.mjs). On a
 * Postgres server autovacuum works beside the sessions; here a vacuum holds the one session
 * every request's record waits for, so what matters is that no single vacuum is long:
 *
 * - `autovacuum_vacuum_insert_scale_factor=0`: a table is vacuumed once 1,000 rows
 *   (`autovacuum_vacuum_insert_threshold`) were inserted since its last vacuum, not once a fifth
 *   of the table was — which on an append-only log meant a vacuum reading a fifth of the log,
 *   longer with every day of history. With the thread looking every 10 s, a vacuum reads the
 *   pages written in the last seconds (the visibility map skips the rest).
 * - `vacuum_freeze_min_age=0`, `vacuum_multixact_freeze_min_age=0`: those vacuums freeze what
 *   they read, so every page is all-frozen once vacuumed, and the vacuum that transaction id
 *   age forces (`autovacuum_freeze_max_age`, every 200 million transactions) skips them; with
 *   the default 50 million it would reread every page written in the last days, in one go.
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
  ];
}
