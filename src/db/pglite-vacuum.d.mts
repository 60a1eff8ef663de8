// Types of pglite-vacuum.mjs (plain JavaScript: it runs on the database's thread).

/** One table as the thread reads it from pg_class and the statistics functions. */
export interface TableCounters {
  name: string;
  /** pg_class.relkind: "r" table, "m" materialized view, "t" toast table. */
  kind: string;
  /** Whether this is pg_statistic (never analyzed). */
  statistic: boolean;
  /** pg_class.reloptions, "name=value" each. */
  options: readonly string[];
  reltuples: number;
  dead: number;
  inserted: number;
  changed: number;
  xid_age: number;
  mxid_age: number;
  /** Never vacuumed nor analyzed (reltuples -1), and not empty. */
  never_analyzed: boolean;
  /** Pages the visibility map does not cover (written since the last vacuum). */
  unvisited: number;
}

export interface Work {
  table: string;
  vacuum: boolean;
  analyze: boolean;
  wraparound: boolean;
}

export const VACUUM_EVERY_MS: number;
export const ALL_TABLES_EVERY: number;
export function dueWork(
  tables: readonly TableCounters[],
  settings: Record<string, number>,
  opts?: { startup?: boolean },
): Work[];
export function command(w: Work): string;
/** Looks once and runs what is due (`db`: the thread's PGlite instance). */
export function vacuumIfDue(
  db: unknown,
  opts?: { startup?: boolean; allTables?: boolean },
): Promise<(Work & { ms: number })[]>;
