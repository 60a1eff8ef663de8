// Vacuum and analyze for the embedded database (run on its thread by pglite-thread.mjs).
//
// PGlite runs Postgres in single-user mode: there is no autovacuum launcher, so nothing ever
// vacuums or analyzes. Left alone, every routed request leaves a dead row version in
// audit_decisions (its outcome updates the decision's index row) that no one reclaims; the
// planner never gets statistics for the auditors' queries; and no row is ever frozen, so the
// transaction counter walks towards wraparound (a standalone backend only warns there — it does
// not stop — and rows older than 2^31 transactions would then read as not yet committed). So the
// thread does autovacuum's work itself, between statements, by autovacuum's own rules and
// settings (`autovacuum_*`, per-table storage parameters included): a table is vacuumed once
// its dead rows pass `threshold + scale_factor × reltuples`, once the rows inserted since its
// last vacuum pass the insert threshold (so that later freezing reads only new pages), or once
// its oldest unfrozen transaction id is older than `autovacuum_freeze_max_age`; analyzed once
// the rows changed since its last analyze pass the analyze threshold. `autovacuum = off` leaves
// only the wraparound vacuums, as in Postgres. (docs/operations.md, "Vacuum of the embedded
// database").
import { repeat, runHeld as run } from "./pglite-tasks.mjs";

/**
 * How often the thread looks, by default. Postgres's autovacuum_naptime is a minute; here a
 * vacuum holds the session, so it looks often and each vacuum has little to read
 * (pglite-vacuum-settings.ts): under 500 requests/s, a few milliseconds per table every 2 s
 * rather than 15–40 ms every 10 s (bench/findings.md, session 8). A look costs two catalog
 * queries.
 */
export const VACUUM_EVERY_MS = 2_000;

/**
 * How often (in checks) a check reads every table — the system catalogs and toast tables too —
 * rather than only the tables of sovr's own schemas, the ones that take rows with every request.
 * Reading all ~150 relations' counters takes the one session ~4 ms (with their sizes, ~10 ms:
 * a file lookup each), sovr's own ~20 about 1 ms; the catalogs change little between two looks
 * and transaction ids age slowly (a table reaches autovacuum_freeze_max_age days after the
 * look before), so every 30th look (a minute at the shipped pace) covers them.
 */
export const ALL_TABLES_EVERY = 30;

const SETTING_NAMES = [
  "autovacuum",
  "autovacuum_vacuum_threshold",
  "autovacuum_vacuum_scale_factor",
  "autovacuum_vacuum_insert_threshold",
  "autovacuum_vacuum_insert_scale_factor",
  "autovacuum_analyze_threshold",
  "autovacuum_analyze_scale_factor",
  "autovacuum_freeze_max_age",
  "autovacuum_multixact_freeze_max_age",
];

/**
 * The global settings autovacuum decides by, each by current_setting() (the pg_settings view
 * would build every setting's row first).
 */
const SETTINGS = `select name, current_setting(name) as setting
  from unnest(array[${SETTING_NAMES.map((n) => `'${n}'`).join(", ")}]) as name`;

/**
 * The tables' counters (TableCounters in pglite-vacuum.d.mts). The statistics functions
 * directly, not pg_stat_all_tables (which computes some twenty per row). `sizes` (start-up
 * only: the rules that need them apply there) reads each table's file size; `catalogs` includes
 * the system catalogs and every toast table.
 */
function tablesQuery({ sizes, catalogs }) {
  return `select quote_ident(n.nspname) || '.' || quote_ident(c.relname) as name,
  c.relkind as kind, c.oid = 'pg_catalog.pg_statistic'::regclass as statistic,
  coalesce(c.reloptions, '{}') as options, greatest(c.reltuples, 0)::float8 as reltuples,
  ${sizes ? "c.reltuples < 0 and z.bytes > 0" : "false"} as never_analyzed,
  ${sizes ? "greatest(0, z.bytes / current_setting('block_size')::int - c.relallvisible)::float8" : "0::float8"} as unvisited,
  pg_stat_get_dead_tuples(c.oid)::float8 as dead, pg_stat_get_ins_since_vacuum(c.oid)::float8 as inserted,
  pg_stat_get_mod_since_analyze(c.oid)::float8 as changed,
  age(c.relfrozenxid)::float8 as xid_age, mxid_age(c.relminmxid)::float8 as mxid_age
  from pg_class c join pg_namespace n on n.oid = c.relnamespace
  ${sizes ? "cross join lateral (select pg_relation_size(c.oid) as bytes) z" : ""}
  where c.relkind in ('r', 'm', 't') and c.relpersistence <> 't'
  ${catalogs ? "" : "and n.nspname not in ('pg_catalog', 'information_schema', 'pg_toast')"}`;
}

const STARTUP_TABLES = tablesQuery({ sizes: true, catalogs: true });
const ALL_TABLES = tablesQuery({ sizes: false, catalogs: true });
const OWN_TABLES = tablesQuery({ sizes: false, catalogs: false });

/** `{ autovacuum_vacuum_threshold: 50, … }` from the settings' rows (or a table's storage parameters). */
function numbers(pairs) {
  const out = {};
  for (const [name, value] of pairs) {
    if (value === "on" || value === "true") out[name] = 1;
    else if (value === "off" || value === "false") out[name] = 0;
    else if (Number.isFinite(Number(value))) out[name] = Number(value);
  }
  return out;
}

/**
 * What autovacuum would do with each table (Postgres's relation_needs_vacanalyze), most urgent
 * first: wraparound vacuums oldest first, then vacuums by how far past their threshold, then
 * analyzes. `tables`: rows of tablesQuery; `settings`: the global settings by name. A table's own
 * storage parameters (`autovacuum_enabled`, thresholds, scale factors) override the globals;
 * its `autovacuum_freeze_max_age` may only lower the global one. Toast tables and
 * pg_statistic are never analyzed.
 *
 * `startup`: the statistics counters do not survive a restart of the embedded database (a
 * standalone backend does not write them at close), so at start-up a table is also vacuumed
 * when it has pages the visibility map does not cover (`unvisited`: written since its last
 * vacuum), and analyzed when it never was — what a database written before its thread vacuumed,
 * or written since the last vacuum before a stop, needs before the server serves.
 */
export function dueWork(tables, settings, { startup = false } = {}) {
  const work = [];
  for (const t of tables) {
    const own = numbers(
      (t.options ?? []).map((o) => [o.slice(0, o.indexOf("=")), o.slice(o.indexOf("=") + 1)]),
    );
    const s = (name) => own[name] ?? settings[name];
    const enabled = (settings.autovacuum ?? 1) === 1 && (own.autovacuum_enabled ?? 1) === 1;
    const freezeMax = Math.min(own.autovacuum_freeze_max_age ?? Infinity, settings.autovacuum_freeze_max_age);
    const mxidFreezeMax = Math.min(
      own.autovacuum_multixact_freeze_max_age ?? Infinity,
      settings.autovacuum_multixact_freeze_max_age,
    );
    const wraparound = t.xid_age > freezeMax || t.mxid_age > mxidFreezeMax;
    const vacuumAt = s("autovacuum_vacuum_threshold") + s("autovacuum_vacuum_scale_factor") * t.reltuples;
    const insertThreshold = s("autovacuum_vacuum_insert_threshold");
    const insertAt = insertThreshold + s("autovacuum_vacuum_insert_scale_factor") * t.reltuples;
    const analyzeAt = s("autovacuum_analyze_threshold") + s("autovacuum_analyze_scale_factor") * t.reltuples;
    const vacuum =
      wraparound ||
      (enabled &&
        (t.dead > vacuumAt ||
          (insertThreshold >= 0 && t.inserted > insertAt) ||
          (startup && t.unvisited > 0)));
    const analyze =
      enabled && t.kind !== "t" && !t.statistic && (t.changed > analyzeAt || (startup && t.never_analyzed));
    if (!vacuum && !analyze) continue;
    // Wraparound first (oldest first), then vacuums (furthest past a threshold first), then analyzes.
    const past = Math.max(
      t.dead / Math.max(vacuumAt, 1),
      insertThreshold >= 0 ? t.inserted / Math.max(insertAt, 1) : 0,
    );
    const urgency = wraparound
      ? 2 + Math.max(t.xid_age / freezeMax, t.mxid_age / mxidFreezeMax)
      : vacuum
        ? 1 + past / (past + 1)
        : 0;
    work.push({ table: t.name, vacuum, analyze, wraparound, urgency });
  }
  return work.sort((a, b) => b.urgency - a.urgency).map(({ urgency, ...w }) => w);
}

/** The command for one item of {@link dueWork}. */
export function command(w) {
  if (w.vacuum) return w.analyze ? `vacuum (analyze) ${w.table}` : `vacuum ${w.table}`;
  return `analyze ${w.table}`;
}

/**
 * Looks once and does what is due, one table at a time, each under its own hold of the session:
 * statements sent meanwhile run between two tables, not after all of them. Nothing while a
 * transaction is open (VACUUM cannot run inside one, and the session is the one every request
 * shares). Returns what it did, with each command's time. `startup`: see {@link dueWork};
 * `allTables`: the system catalogs and toast tables too (see {@link ALL_TABLES_EVERY}).
 */
export async function vacuumIfDue(db, { startup = false, allTables = true } = {}) {
  const tables = startup ? STARTUP_TABLES : allTables ? ALL_TABLES : OWN_TABLES;
  const due = await db.runExclusive(async () => {
    if (db.isInTransaction()) return [];
    const settings = numbers((await run(db, SETTINGS)).rows.map((r) => [r.name, r.setting]));
    return dueWork((await run(db, tables)).rows, settings, { startup });
  });
  const done = [];
  for (const w of due) {
    const ms = await db.runExclusive(async () => {
      if (db.isInTransaction()) return undefined;
      const started = performance.now();
      await run(db, command(w));
      return performance.now() - started;
    });
    if (ms === undefined) break;
    done.push({ ...w, ms });
  }
  return done;
}

/**
 * Checks every `everyMs` until the returned function is called, every table at the first check
 * and every {@link ALL_TABLES_EVERY}th, sovr's own otherwise. `onDone` gets what a check did
 * (when it did anything); `onError` a failed check or command.
 */
export function startVacuum(db, everyMs, onError, onDone) {
  let checks = 0;
  return repeat(
    everyMs,
    async () => {
      const done = await vacuumIfDue(db, { allTables: checks++ % ALL_TABLES_EVERY === 0 });
      if (done.length > 0) onDone(done);
    },
    onError,
  );
}
