/**
 * What the database costs per routed request (issue 19 parts 2 and 5): the router's two records
 * per request — a v2 decision (index row with key id and facets) the caller waits for, and its
 * outcome (with usage) a few milliseconds later — appended at a fixed request rate through
 * `AuditLog` over `openDatabase`, as the router does. Reports the CPU this process spent per
 * request, split by thread (from /proc/self/task: on PGlite the busiest thread besides the main
 * one is the database's worker), the decision's append-to-durable latency, and the statements.
 *
 * On PGlite it also reports the thread's vacuums and analyzes (pglite-vacuum.mjs) during the run:
 * how many, their total and longest time (each holds the one session the appends wait for).
 *
 * Run: node --import tsx bench/db-cost.ts [--rate 500] [--seconds 6] [--postgres] [--upstream-ms 3] [--batch B] [--batch-delay-ms D]
 *        [--pglite-settings "name=value name2=value2"] [--vacuum-every-ms N]
 *   --batch-delay-ms D  the group commit's wait for company when no commit is in flight
 *                (SOVR_AUDIT_BATCH_DELAY_MS; the shipped default is 0)
 *   --batch B    closed loop: rounds of B requests, one statement each (CPU per request at a
 *                known batch size, whatever the machine's load); requests = rate × seconds
 *   --postgres   on a scratch database next to SOVR_BENCH_DATABASE_URL / DATABASE_URL
 *   --pglite-settings  further Postgres settings of the embedded database (after the shipped ones)
 *   --vacuum-every-ms  how often its thread looks for vacuums due (default: pglite-vacuum.mjs)
 */
import { randomUUID } from "node:crypto";
import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { sql } from "kysely";
import { AuditLog } from "../src/audit/audit-log.js";
import { generateSigningKey } from "../src/audit/keys.js";
import { loadConfig } from "../src/config/config.js";
import { openDatabase } from "../src/db/index.js";
import { BENCH_TENANTS, benchDecision, benchOutcome } from "./lib/audit-payload.js";
import { newHistogram, percentilesMs } from "./lib/load.js";
import { scratchDatabase } from "./lib/scratch-db.js";

const argValue = (name: string) => {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
};
const rate = Number(argValue("--rate") ?? 500);
const seconds = Number(argValue("--seconds") ?? 6);
const upstreamMs = Number(argValue("--upstream-ms") ?? 3);
const postgres = process.argv.includes("--postgres");
/** `--batch B`: closed-loop rounds of B requests instead of a fixed rate (see `rounds`). */
const batch = argValue("--batch") === undefined ? undefined : Number(argValue("--batch"));
const pgliteSettings = (argValue("--pglite-settings") ?? "").split(" ").filter(Boolean);
const vacuumEveryMs =
  argValue("--vacuum-every-ms") === undefined ? undefined : Number(argValue("--vacuum-every-ms"));
/** `--batch-delay-ms D`: the group commit's wait for company (SOVR_AUDIT_BATCH_DELAY_MS; default 0). */
const batchDelay = argValue("--batch-delay-ms");
const config = loadConfig(batchDelay === undefined ? {} : { SOVR_AUDIT_BATCH_DELAY_MS: batchDelay });
const key = generateSigningKey();
const TENANTS = BENCH_TENANTS;

/** Per-thread CPU seconds of this process, by thread id. */
async function threadCpu(): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  for (const tid of await readdir("/proc/self/task")) {
    const stat = await readFile(`/proc/self/task/${tid}/stat`, "utf8").catch(() => "");
    const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    if (f.length > 12) out.set(tid, (Number(f[11]) + Number(f[12])) / 100);
  }
  return out;
}

/** CPU seconds of these processes (utime + stime). */
async function processCpu(pids: readonly number[]): Promise<number> {
  let total = 0;
  for (const pid of pids) {
    const stat = await readFile(`/proc/${pid}/stat`, "utf8").catch(() => "");
    const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    if (f.length > 12) total += (Number(f[11]) + Number(f[12])) / 100;
  }
  return total;
}

async function run() {
  let dir: string | undefined;
  let scratch: Awaited<ReturnType<typeof scratchDatabase>> | undefined;
  const url = process.env.SOVR_BENCH_DATABASE_URL ?? process.env.DATABASE_URL;
  if (postgres) {
    if (!url) throw new Error("--postgres needs DATABASE_URL");
    scratch = await scratchDatabase(url, "dbcost");
  } else dir = await mkdtemp(join(tmpdir(), "sovr-bench-dbcost-"));
  const vacuums: { table: string; ms: number }[] = [];
  let measuring = false;
  let measuredFrom = 0;
  const db = await openDatabase({
    databaseUrl: scratch?.url,
    dataDir: dir,
    pgliteSettings,
    embeddedVacuumEveryMs: vacuumEveryMs,
    onEmbeddedMaintenance: (e) => {
      if (e.kind === "failed") console.error(`embedded ${e.task} failed: ${e.message}`);
      else if (measuring) {
        vacuums.push(...e.done.map((d) => ({ table: d.table, ms: d.ms })));
        // Each check's commands as they happen (stderr): whether they grow with the tables.
        const at = Math.round((performance.now() - measuredFrom) / 1000);
        console.error(
          `${at} s: ${e.done.map((d) => `${d.table} ${d.vacuum ? "v" : ""}${d.analyze ? "a" : ""} ${Math.round(d.ms)} ms`).join(", ")}`,
        );
      }
    },
  });
  // Experiments: statements run on the fresh schema first (e.g. SOVR_BENCH_SQL="drop index …").
  for (const stmt of (process.env.SOVR_BENCH_SQL ?? "").split(";").filter((x) => x.trim()))
    await sql.raw(stmt).execute(db.db);
  let statements = 0;
  let records = 0;
  const log = new AuditLog(db.db, db.kind, key, {
    batchDelayMs: config.audit.batchDelayMs,
    batchMax: config.audit.batchMax,
    onBatch: (size) => {
      statements++;
      records += size;
    },
  });
  const decide = async (id: string, tenant: string) => {
    await log.append(benchDecision(id, tenant));
  };
  const conclude = (id: string, tenant: string) => log.append(benchOutcome(id, tenant));
  const pick = () => TENANTS[Math.floor(Math.random() * TENANTS.length)]!;
  const request = async (lat?: ReturnType<typeof newHistogram>) => {
    const id = randomUUID();
    const tenant = pick();
    const s = performance.now();
    await decide(id, tenant);
    lat?.recordValue(Math.max(1, Math.round((performance.now() - s) * 1000)));
    await new Promise((r) => setTimeout(r, upstreamMs));
    await conclude(id, tenant);
  };
  /**
   * Closed loop, independent of how busy the machine is: rounds of `batch` requests, each round
   * one statement holding its decisions and the previous round's outcomes (which update index
   * rows committed a statement earlier, as after an upstream call).
   */
  const rounds = async (n: number, lat?: ReturnType<typeof newHistogram>) => {
    let previous: [string, string][] = [];
    for (let i = 0; i <= n; i += batch!) {
      const next: [string, string][] =
        i < n ? Array.from({ length: batch! }, () => [randomUUID(), pick()]) : [];
      const outs = previous.map(([id, t]) => conclude(id, t));
      const s = performance.now();
      await Promise.all(next.map(([id, t]) => decide(id, t)));
      if (next.length) lat?.recordValue(Math.max(1, Math.round((performance.now() - s) * 1000)));
      await Promise.all(outs);
      previous = next;
    }
    await log.drain();
  };
  const atRate = async (n: number, lat?: ReturnType<typeof newHistogram>) => {
    if (batch !== undefined) return rounds(n, lat);
    const pending: Promise<void>[] = [];
    const start = performance.now();
    let i = 0;
    await new Promise<void>((resolve) => {
      const tick = () => {
        while (i < n && start + i * (1000 / rate) <= performance.now()) {
          i++;
          pending.push(request(lat));
        }
        if (i >= n) return resolve();
        setTimeout(tick, Math.max(0, start + i * (1000 / rate) - performance.now()));
      };
      tick();
    });
    await Promise.all(pending);
    await log.drain();
  };
  const walBytes = async () =>
    Number(
      (
        await sql<{ b: string }>`select pg_wal_lsn_diff(pg_current_wal_lsn(), '0/0')::text as b`.execute(
          db.db,
        )
      ).rows[0]!.b,
    );
  /** Postgres: the server processes serving this scratch database (same machine). */
  const serverBackends = async () =>
    db.kind === "postgres"
      ? (
          await sql<{
            pid: number;
          }>`select pid from pg_stat_activity where datname = current_database()`.execute(db.db)
        ).rows.map((r) => r.pid)
      : [];
  try {
    await atRate(Math.min(1000, rate)); // warm-up: plans, JIT, connections
    statements = 0;
    records = 0;
    const n = Math.round(rate * seconds);
    const lat = newHistogram();
    const wal0 = await walBytes();
    const backends = await serverBackends();
    const server0 = await processCpu(backends);
    const before = await threadCpu();
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    measuring = true;
    measuredFrom = t0;
    await atRate(n, lat);
    measuring = false;
    const wall = (performance.now() - t0) / 1000;
    // Experiments: queries whose rows are printed after the run (SOVR_BENCH_SQL_AFTER="select …").
    for (const q of (process.env.SOVR_BENCH_SQL_AFTER ?? "").split(";").filter((x) => x.trim()))
      console.error(JSON.stringify((await sql.raw(q).execute(db.db)).rows));
    const cpu = process.cpuUsage(cpu0);
    const after = await threadCpu();
    const server = (await processCpu(backends)) - server0;
    // On Postgres the WAL is the whole server's: other databases' writes count too.
    const wal = (await walBytes()) - wal0;
    const main = String(process.pid);
    const perThread = [...after]
      .map(([tid, s]) => ({ tid, ms_per_request: ((s - (before.get(tid) ?? 0)) * 1000) / n }))
      .filter((t) => t.ms_per_request > 0.001)
      .sort((a, b) => b.ms_per_request - a.ms_per_request)
      .map((t) => ({ thread: t.tid === main ? "main" : t.tid, ms_per_request: round(t.ms_per_request) }));
    return {
      database: db.kind,
      rate,
      batch_delay_ms: config.audit.batchDelayMs,
      requests: n,
      achieved_rate: Math.round(n / wall),
      cpu_ms_per_request: round((cpu.user + cpu.system) / 1000 / n),
      ...(db.kind === "postgres"
        ? { postgres_backends_cpu_ms_per_request: round((server * 1000) / n), backends: backends.length }
        : {}),
      threads: perThread,
      wal_bytes_per_request: Math.round(wal / n),
      statements_per_request: round(statements / n),
      records_per_statement: round(records / Math.max(1, statements)),
      decision_to_durable_ms: percentilesMs(lat),
      // This process's peak resident set (on PGlite the database's Wasm memory is in it).
      peak_rss_mib: Math.round(
        Number((await readFile("/proc/self/status", "utf8")).match(/VmHWM:\s+(\d+)/)?.[1] ?? 0) / 1024,
      ),
      ...(db.kind === "pglite"
        ? {
            vacuum: {
              commands: vacuums.length,
              total_ms: Math.round(vacuums.reduce((a, v) => a + v.ms, 0)),
              longest_ms: Math.round(Math.max(0, ...vacuums.map((v) => v.ms))),
              longest: vacuums.reduce<{ table: string; ms: number } | undefined>(
                (a, v) => (a && a.ms >= v.ms ? a : v),
                undefined,
              )?.table,
            },
          }
        : {}),
    };
  } finally {
    await db.close();
    if (dir) await rm(dir, { recursive: true, force: true });
    await scratch?.drop();
  }
}

const round = (v: number) => Math.round(v * 1000) / 1000;
console.log(JSON.stringify(await run(), null, 2));
