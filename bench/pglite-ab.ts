/**
 * The embedded database thread's CPU per audit statement, for two or more variants of its start
 * settings side by side in ONE process (issue 19): each variant is its own PGlite thread, and
 * blocks of requests alternate between them, so a busy machine slows every variant alike. A
 * request is what the router appends (bench/db-cost.ts's closed loop at batch 1): one statement
 * with its decision and the previous request's outcome. CPU is the thread's own run time
 * (/proc/self/task/<tid>/schedstat, nanoseconds), so time spent waiting or preempted is not in it.
 *
 * Run: node --import tsx bench/pglite-ab.ts [--blocks 12] [--block 200] \
 *        --variant base= --variant "nofpw=full_page_writes=off" ...
 *   --variant LABEL=SETTINGS   SETTINGS: space-separated `name=value` Postgres settings (-c)
 *   env per variant: LABEL=SETTINGS|ENV=1,ENV2=x sets those variables for that thread only
 *   schema per variant: LABEL=SETTINGS|ENV|SQL runs SQL (`;`-separated) once migrated, e.g. to
 *   price an index: "noidx=||drop index audit_decisions_facets_idx"
 */
import { randomUUID } from "node:crypto";
import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { sql } from "kysely";
import { AuditLog } from "../src/audit/audit-log.js";
import { generateSigningKey } from "../src/audit/keys.js";
import { loadConfig } from "../src/config/config.js";
import { type DatabaseHandle, openDatabase } from "../src/db/index.js";
import { BENCH_TENANTS, benchDecision, benchOutcome } from "./lib/audit-payload.js";

const args = process.argv.slice(2);
const argValue = (name: string) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};
const blocks = Number(argValue("--blocks") ?? 12);
const block = Number(argValue("--block") ?? 200);
const specs = args.flatMap((a, i) => (a === "--variant" ? [args[i + 1]!] : []));
if (specs.length === 0) specs.push("base=");
const config = loadConfig({});
const key = generateSigningKey();
const TENANTS = BENCH_TENANTS;

/** Nanoseconds this thread has run. */
async function runNs(tid: string): Promise<number> {
  return Number((await readFile(`/proc/self/task/${tid}/schedstat`, "utf8")).split(" ")[0]);
}

interface Variant {
  label: string;
  dir: string;
  db: DatabaseHandle;
  log: AuditLog;
  tid: string;
  previous: [string, string][];
  statements: number;
  records: number;
  nsPerStatement: number[];
  nsPerRecord: number[];
}

async function open(spec: string): Promise<Variant> {
  const [label, rest = ""] = [spec.slice(0, spec.indexOf("=")), spec.slice(spec.indexOf("=") + 1)];
  const [settings = "", envs = "", schemaSql = ""] = rest.split("|");
  const saved = { ...process.env };
  for (const kv of envs.split(",").filter(Boolean)) {
    const [k, v = "1"] = kv.split("=");
    process.env[k!] = v;
  }
  const before = new Set(await readdir("/proc/self/task"));
  const dir = await mkdtemp(join(tmpdir(), "sovr-bench-pglite-ab-"));
  const db = await openDatabase({ dataDir: dir, pgliteSettings: settings.split(" ").filter(Boolean) });
  for (const statement of schemaSql.split(";").filter((x) => x.trim()))
    await db.db.executeQuery(sql.raw(statement).compile(db.db));
  for (const k of Object.keys(process.env)) if (!(k in saved)) delete process.env[k];
  Object.assign(process.env, saved);
  const fresh = (await readdir("/proc/self/task")).filter((t) => !before.has(t));
  // The database's thread: the new one that ran the most (migrations), not libuv's helpers.
  let tid = fresh[0]!;
  let most = -1;
  for (const t of fresh) {
    const ns = await runNs(t).catch(() => -1);
    if (ns > most) [tid, most] = [t, ns];
  }
  const v: Variant = {
    label,
    dir,
    db,
    tid,
    previous: [],
    statements: 0,
    records: 0,
    nsPerStatement: [],
    nsPerRecord: [],
    log: new AuditLog(db.db, db.kind, key, {
      batchDelayMs: config.audit.batchDelayMs,
      batchMax: config.audit.batchMax,
      onBatch: (size) => {
        v.statements++;
        v.records += size;
      },
    }),
  };
  return v;
}

const pick = () => TENANTS[Math.floor(Math.random() * TENANTS.length)]!;

/** `n` requests, one at a time: the request's decision and the previous one's outcome in one statement. */
async function run(v: Variant, n: number): Promise<void> {
  for (let i = 0; i < n; i++) {
    const id = randomUUID();
    const tenant = pick();
    const outs = v.previous.map(([d, t]) => v.log.append(benchOutcome(d, t)));
    await v.log.append(benchDecision(id, tenant));
    await Promise.all(outs);
    v.previous = [[id, tenant]];
  }
}

const variants: Variant[] = [];
for (const s of specs) variants.push(await open(s));
try {
  for (const v of variants) await run(v, 300); // warm-up: plans, caches
  for (let b = 0; b < blocks; b++) {
    // Alternate the order too: no variant always runs right after another.
    for (const v of b % 2 ? [...variants].reverse() : variants) {
      const [s0, r0, ns0] = [v.statements, v.records, await runNs(v.tid)];
      await run(v, block);
      const ns = (await runNs(v.tid)) - ns0;
      v.nsPerStatement.push(ns / (v.statements - s0));
      v.nsPerRecord.push(ns / (v.records - r0));
    }
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  const base = median(variants[0]!.nsPerStatement);
  for (const v of variants) {
    const m = median(v.nsPerStatement);
    console.log(
      JSON.stringify({
        variant: v.label,
        us_per_statement_median: Math.round(m / 100) / 10,
        us_per_statement_min: Math.round(Math.min(...v.nsPerStatement) / 100) / 10,
        us_per_record_median: Math.round(median(v.nsPerRecord) / 100) / 10,
        vs_first: `${(((m - base) / base) * 100).toFixed(1)}%`,
        blocks: v.nsPerStatement.map((x) => Math.round(x / 1000)),
      }),
    );
  }
} finally {
  for (const v of variants) {
    await v.log.drain();
    await v.db.close();
    await rm(v.dir, { recursive: true, force: true });
  }
}
