import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PGlite } from "@electric-sql/pglite";
import { sql } from "kysely";
import { afterEach, describe, expect, it } from "vitest";
import { openDatabase } from "./database.js";
import { command, dueWork, vacuumIfDue } from "./pglite-vacuum.mjs";
import { type MaintenanceEvent, PGliteWorker } from "./pglite-worker.js";

/** Postgres's defaults for the settings autovacuum decides by. */
const DEFAULTS = {
  autovacuum: 1,
  autovacuum_vacuum_threshold: 50,
  autovacuum_vacuum_scale_factor: 0.2,
  autovacuum_vacuum_insert_threshold: 1000,
  autovacuum_vacuum_insert_scale_factor: 0.2,
  autovacuum_analyze_threshold: 50,
  autovacuum_analyze_scale_factor: 0.1,
  autovacuum_freeze_max_age: 200_000_000,
  autovacuum_multixact_freeze_max_age: 400_000_000,
};

const table = (over: Record<string, unknown> = {}) => ({
  name: "public.t",
  kind: "r",
  statistic: false,
  options: [],
  reltuples: 10_000,
  dead: 0,
  inserted: 0,
  changed: 0,
  xid_age: 1000,
  mxid_age: 0,
  never_analyzed: false,
  unvisited: 0,
  ...over,
});

describe("what is due (autovacuum's rules)", () => {
  it("vacuums past threshold + scale × rows (dead, or inserted since the last vacuum) and analyzes past its own", () => {
    // 10,000 rows: vacuum at 50 + 2,000 dead; insert vacuum at 1,000 + 2,000; analyze at 50 + 1,000 changed.
    expect(dueWork([table({ dead: 2050, changed: 1050 })], DEFAULTS)).toEqual([]);
    expect(dueWork([table({ dead: 2051 })], DEFAULTS)).toEqual([
      { table: "public.t", vacuum: true, analyze: false, wraparound: false },
    ]);
    expect(dueWork([table({ inserted: 3001 })], DEFAULTS)[0]).toMatchObject({ vacuum: true });
    expect(dueWork([table({ changed: 1051 })], DEFAULTS)).toEqual([
      { table: "public.t", vacuum: false, analyze: true, wraparound: false },
    ]);
    // A never-analyzed table (reltuples -1 in pg_class, read as 0): the bare thresholds.
    expect(dueWork([table({ reltuples: 0, dead: 51, changed: 51 })], DEFAULTS)[0]).toMatchObject({
      vacuum: true,
      analyze: true,
    });
  });

  it("an insert threshold of -1 turns insert vacuums off; toast tables and pg_statistic are never analyzed", () => {
    const noInserts = { ...DEFAULTS, autovacuum_vacuum_insert_threshold: -1 };
    expect(dueWork([table({ inserted: 1e9 })], noInserts)).toEqual([]);
    expect(dueWork([table({ kind: "t", changed: 1e6 })], DEFAULTS)).toEqual([]);
    expect(dueWork([table({ statistic: true, changed: 1e6 })], DEFAULTS)).toEqual([]);
  });

  it("past autovacuum_freeze_max_age a vacuum is due whatever else says, first, oldest first", () => {
    const off = { ...DEFAULTS, autovacuum: 0 };
    const tables = [
      table({ name: "public.dead", dead: 1e6 }),
      table({ name: "public.old", xid_age: 200_000_001 }),
      table({ name: "public.older", xid_age: 300_000_000, options: ["autovacuum_enabled=false"] }),
      table({ name: "public.mxid", mxid_age: 500_000_000 }),
    ];
    expect(dueWork(tables, DEFAULTS).map((w) => w.table)).toEqual([
      "public.older",
      "public.mxid",
      "public.old",
      "public.dead",
    ]);
    // autovacuum = off: only the wraparound vacuums, as in Postgres.
    expect(dueWork(tables, off).map((w) => [w.table, w.wraparound])).toEqual([
      ["public.older", true],
      ["public.mxid", true],
      ["public.old", true],
    ]);
  });

  it("reads a table's own storage parameters; its freeze age may only lower the global one", () => {
    const own = (options: string[], over = {}) => dueWork([table({ options, ...over })], DEFAULTS);
    expect(own(["autovacuum_enabled=false"], { dead: 1e6, changed: 1e6 })).toEqual([]);
    expect(
      own(["autovacuum_vacuum_scale_factor=0", "autovacuum_vacuum_threshold=10"], { dead: 11 }),
    ).toHaveLength(1);
    expect(own(["autovacuum_analyze_threshold=5000"], { changed: 2000 })).toEqual([]);
    expect(own(["autovacuum_freeze_max_age=100000"], { xid_age: 100_001 })[0]).toMatchObject({
      wraparound: true,
    });
    expect(own(["autovacuum_freeze_max_age=900000000"], { xid_age: 300_000_000 })[0]).toMatchObject({
      wraparound: true,
    });
  });

  it("at start-up (counters lost with the restart): vacuums pages the visibility map does not cover, analyzes what never was", () => {
    const t = [
      table({ name: "public.written", unvisited: 3 }),
      table({ name: "public.never", reltuples: 0, never_analyzed: true, unvisited: 1 }),
      table({ name: "public.toast", kind: "t", never_analyzed: true }),
      table({ name: "public.clean" }),
    ];
    expect(dueWork(t, DEFAULTS)).toEqual([]);
    expect(dueWork(t, DEFAULTS, { startup: true })).toEqual([
      { table: "public.written", vacuum: true, analyze: false, wraparound: false },
      { table: "public.never", vacuum: true, analyze: true, wraparound: false },
    ]);
    expect(dueWork(t, { ...DEFAULTS, autovacuum: 0 }, { startup: true })).toEqual([]);
  });

  it("names the command", () => {
    const w = { table: '"my schema".t', wraparound: false };
    expect(command({ ...w, vacuum: true, analyze: true })).toBe('vacuum (analyze) "my schema".t');
    expect(command({ ...w, vacuum: true, analyze: false })).toBe('vacuum "my schema".t');
    expect(command({ ...w, vacuum: false, analyze: true })).toBe('analyze "my schema".t');
  });
});

/** Single-user Postgres has no autovacuum (pglite-vacuum.mjs): the thread does its work. */
describe("vacuum of the embedded database", () => {
  const dirs: string[] = [];
  const open: PGliteWorker[] = [];
  afterEach(async () => {
    for (const db of open.splice(0)) await db.close();
    for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
  });

  const start = async (settings: string[] = []) => {
    const dir = await mkdtemp(join(tmpdir(), "sovr-pglite-vacuum-"));
    dirs.push(dir);
    const location = join(dir, "pglite");
    await (await PGliteWorker.create(location, settings)).close(); // created, as openEmbedded does
    const events: MaintenanceEvent[] = [];
    const db = await PGliteWorker.create(location, settings, {
      vacuumEveryMs: 100,
      onMaintenance: (e) => events.push(e),
    });
    open.push(db);
    return { db, events };
  };
  const stats = async (db: PGliteWorker, name: string) =>
    (
      await db.query<{ dead: number; vacuumed: boolean; analyzed: boolean; xid_age: number }>(
        `select n_dead_tup::int as dead, last_vacuum is not null as vacuumed, last_analyze is not null as analyzed,
           age(c.relfrozenxid)::int as xid_age
         from pg_stat_user_tables s join pg_class c on c.oid = s.relid where s.relname = $1`,
        [name],
      )
    ).rows[0]!;

  it("reclaims the dead rows an update leaves and analyzes the table, and says so", async () => {
    const { db, events } = await start();
    await db.query("create table t (id int primary key, state text)");
    await db.query("insert into t select i, 'pending' from generate_series(1, 2000) i");
    await db.query("update t set state = 'done'");
    await expect
      .poll(async () => (await stats(db, "t")).vacuumed, { timeout: 15_000, interval: 100 })
      .toBe(true);
    const after = await stats(db, "t");
    expect(after).toMatchObject({ dead: 0, analyzed: true });
    const done = events.flatMap((e) => (e.kind === "vacuumed" ? e.done : []));
    expect(done).toContainEqual(
      expect.objectContaining({ table: "public.t", vacuum: true, wraparound: false }),
    );
    expect(events.filter((e) => e.kind === "failed")).toEqual([]);
  });

  it("with autovacuum off, still vacuums a table whose oldest transaction id passed autovacuum_freeze_max_age", async () => {
    const { db, events } = await start(["-c", "autovacuum=off", "-c", "autovacuum_freeze_max_age=100000"]);
    await db.query("create table t (id int)");
    await db.query("insert into t values (1)");
    await db.query("update t set id = 2"); // a dead row, which autovacuum = off leaves alone
    // 100,000 transaction ids in one statement: each subtransaction that writes takes one.
    await db.query("create table burn (i int)");
    await db.query(
      "do $$ begin for i in 1..100100 loop begin insert into burn values (i); exception when others then null; end; end loop; end $$",
    );
    await expect
      .poll(async () => (await stats(db, "t")).vacuumed, { timeout: 20_000, interval: 200 })
      .toBe(true);
    expect((await stats(db, "t")).xid_age).toBeLessThan(100_000);
    const done = events.flatMap((e) => (e.kind === "vacuumed" ? e.done : []));
    expect(done.find((d) => d.table === "public.t")).toMatchObject({
      vacuum: true,
      analyze: false,
      wraparound: true,
    });
    expect(done.every((d) => d.wraparound)).toBe(true);
    // The catalogs passed the age too: the looks that read every table vacuum them.
    await expect
      .poll(
        () =>
          events
            .flatMap((e) => (e.kind === "vacuumed" ? e.done : []))
            .some((d) => d.table === "pg_catalog.pg_class" && d.wraparound),
        { timeout: 20_000, interval: 200 },
      )
      .toBe(true);
  });
});

describe("what a look reads", () => {
  it("sovr's own tables at most looks; the system catalogs too at the others", async () => {
    // Every table with a row inserted is due: the table created, and the catalogs it wrote to.
    const db = await PGlite.create("memory://", {
      startParams: [
        ...PGlite.defaultStartParams,
        "-c",
        "autovacuum_vacuum_insert_threshold=0",
        "-c",
        "autovacuum_vacuum_insert_scale_factor=0",
      ],
    });
    try {
      await db.query("create table t (id int, body text)");
      await db.query("insert into t select i, 'x' from generate_series(1, 20) i");
      // A backend hands its counters over at most once a second, between statements.
      await new Promise((r) => setTimeout(r, 1100));
      await db.query("select 1");
      const own = (await vacuumIfDue(db, { allTables: false })).map((w) => w.table);
      expect(own).toContain("public.t");
      expect(own.filter((t) => !t.startsWith("public."))).toEqual([]);
      const all = (await vacuumIfDue(db, { allTables: true })).map((w) => w.table);
      expect(all).toContain("pg_catalog.pg_class");
      expect(all).not.toContain("public.t"); // vacuumed by the look before
    } finally {
      await db.close();
    }
  });
});

describe("vacuum of the embedded database, at start-up", () => {
  it("vacuums what is due before openDatabase returns, with the embedded vacuum settings", async () => {
    const dir = await mkdtemp(join(tmpdir(), "sovr-pglite-vacuum-open-"));
    try {
      // Written by a thread that never vacuums in this test's time (as before this version).
      await openDatabase({ dataDir: dir }).then((h) => h.close());
      const first = await PGliteWorker.create(join(dir, "pglite"), [], { vacuumEveryMs: 3_600_000 });
      await first.query("create table t (id int)");
      await first.query("insert into t select generate_series(1, 5000)");
      await first.close();
      const events: MaintenanceEvent[] = [];
      const h = await openDatabase({ dataDir: dir, onEmbeddedMaintenance: (e) => events.push(e) });
      try {
        const done = events.flatMap((e) => (e.kind === "vacuumed" ? e.done : []));
        expect(done).toContainEqual(expect.objectContaining({ table: "public.t", vacuum: true }));
        const row = await sql<{
          vacuumed: boolean;
          frozen: number;
        }>`select last_vacuum is not null as vacuumed,
            age(c.relfrozenxid)::int as frozen from pg_stat_user_tables s join pg_class c on c.oid = s.relid
            where s.relname = 't'`.execute(h.db);
        // Frozen as it was read (vacuum_freeze_min_age = 0): its oldest unfrozen id is recent.
        expect(row.rows[0]).toMatchObject({ vacuumed: true });
        expect(row.rows[0]!.frozen).toBeLessThan(5);
        const settings = await sql<{ name: string; setting: string }>`select name, setting from pg_settings
            where name in ('autovacuum_vacuum_insert_scale_factor', 'vacuum_freeze_min_age',
              'vacuum_multixact_freeze_min_age', 'default_statistics_target') order by name`.execute(h.db);
        expect(settings.rows.map((r) => [r.name, r.setting])).toEqual([
          ["autovacuum_vacuum_insert_scale_factor", "0"],
          ["default_statistics_target", "10"],
          ["vacuum_freeze_min_age", "0"],
          ["vacuum_multixact_freeze_min_age", "0"],
        ]);
      } finally {
        await h.close();
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
