/**
 * Durable records/s of the signed log with 1, 2 and 4 log shards (docs/audit.md §10) and two
 * replicas against one Postgres: for each shard count, a fresh database; two child processes,
 * each a replica with its own connection pool and its own `AuditLog` (the app's append path:
 * signing, group commit, the sequencer lock of the record's shard, the one-statement append),
 * appending v2 decision records of 16 tenants with `--outstanding` appends in flight each.
 * Beside it, lock-wait: the parent process samples `pg_stat_activity` every 5 ms and counts the
 * sessions waiting on an advisory lock (session-seconds of waiting per second of run), and the
 * replicas report their commit latency (which includes the wait).
 *
 * Run: node --import tsx bench/log-shards.ts [--ms 4000] [--outstanding 256] [--shards 1,2,4]
 * Needs DATABASE_URL (a Postgres the bench may create scratch databases next to). Prints JSON.
 */

import { type ChildProcess, fork } from "node:child_process";
import { availableParallelism, loadavg } from "node:os";
import { fileURLToPath } from "node:url";
import pg from "pg";
import { sampleDecisionV2 } from "../src/audit/fixtures/records.js";
import {
  AuditLog,
  encodeRecord,
  ensureLogLayout,
  generateSigningKey,
  publishSigningKey,
  type ShardLayout,
  withTenantSeq,
} from "../src/audit/index.js";
import { openDatabase } from "../src/db/index.js";
import { scratchDatabase } from "./lib/scratch-db.js";

const TENANTS = Array.from({ length: 16 }, (_, i) => `tenant-${i}`);

interface Job {
  url: string;
  shards: number;
  ms: number;
  outstanding: number;
  /** Appends before the measured window (connections, prepared statements, JIT). */
  warmup: number;
}

interface ReplicaResult {
  records: number;
  seconds: number;
  batches: number;
  commitMsMean: number;
  /** CPU seconds this replica used in the window (user + system). */
  cpuSeconds: number;
}

async function replica(job: Job): Promise<ReplicaResult> {
  const db = await openDatabase({ databaseUrl: job.url, poolSize: 4 });
  const layout: ShardLayout = { shards: job.shards, map: new Map() };
  const key = generateSigningKey();
  await publishSigningKey(db.db, key);
  let batches = 0;
  let commitSeconds = 0;
  let measuring = false;
  const log = new AuditLog(db.db, db.kind, key, {
    batchDelayMs: 0,
    batchMax: 512,
    layout,
    onBatch: (_size, seconds) => {
      if (!measuring) return;
      batches++;
      commitSeconds += seconds;
    },
  });
  let n = 0;
  const append = () => {
    const tenant = TENANTS[n++ % TENANTS.length]!;
    const record = sampleDecisionV2({ principal: { tenant, workload: "bench", roles: ["client"] } });
    return log.append({
      kind: "decision",
      decisionId: record.decision_id,
      recordedAt: new Date(),
      tenant,
      encode: (seq) => encodeRecord(withTenantSeq(record, seq)),
      index: {
        tenant,
        model: record.request.model,
        endpoint_id: record.plan[0] ?? null,
        outcome: "pending",
        policy_revision: record.policy.revision,
        policy_sha256: record.policy.sha256,
        catalog_revision: record.catalog_revision,
      },
    });
  };
  try {
    await Promise.all(Array.from({ length: job.warmup }, append));
    process.send!({ ready: true });
    await new Promise<void>((r) => process.once("message", () => r()));
    measuring = true;
    const cpu0 = process.cpuUsage();
    let done = 0;
    const t0 = performance.now();
    const until = t0 + job.ms;
    const worker = async () => {
      while (performance.now() < until) {
        await append();
        done++;
      }
    };
    await Promise.all(Array.from({ length: job.outstanding }, worker));
    const seconds = (performance.now() - t0) / 1000;
    measuring = false;
    const cpu = process.cpuUsage(cpu0);
    return {
      records: done,
      seconds,
      batches,
      commitMsMean: batches ? (commitSeconds / batches) * 1000 : 0,
      cpuSeconds: (cpu.user + cpu.system) / 1e6,
    };
  } finally {
    await log.drain();
    await db.close();
  }
}

/** Sessions waiting on an advisory lock, sampled every `everyMs` until stopped. */
function lockWaitSampler(url: string, everyMs: number) {
  const client = new pg.Client({ connectionString: url });
  let waitingSamples = 0;
  let samples = 0;
  let stopped = false;
  const started = client.connect().then(async () => {
    while (!stopped) {
      const r = await client.query<{ n: string }>(
        "select count(*) as n from pg_stat_activity where datname = current_database() and wait_event_type = 'Lock' and wait_event = 'advisory'",
      );
      waitingSamples += Number(r.rows[0]!.n);
      samples++;
      await new Promise((res) => setTimeout(res, everyMs));
    }
  });
  return {
    async stop(seconds: number) {
      stopped = true;
      await started;
      await client.end();
      // Mean sessions waiting × run time: session-seconds of advisory-lock wait per second.
      return {
        samples,
        mean_sessions_waiting: samples ? Math.round((waitingSamples / samples) * 100) / 100 : 0,
        seconds,
      };
    },
  };
}

async function runShards(baseUrl: string, shards: number, ms: number, outstanding: number) {
  const scratch = await scratchDatabase(baseUrl, `shards${shards}`);
  try {
    const setup = await openDatabase({ databaseUrl: scratch.url, poolSize: 1 });
    await ensureLogLayout(setup.db, { shards, map: new Map() });
    await setup.close();
    const job: Job = { url: scratch.url, shards, ms, outstanding, warmup: 500 };
    const workers: ChildProcess[] = [0, 1].map(() =>
      fork(fileURLToPath(import.meta.url), ["--replica", JSON.stringify(job)], {
        execArgv: ["--import", "tsx"],
      }),
    );
    const ready = workers.map((w) => new Promise((r) => w.once("message", r)));
    const results = workers.map(
      (w) =>
        new Promise<ReplicaResult>((resolve, reject) => {
          w.on("message", (m: { result?: ReplicaResult }) => m.result && resolve(m.result));
          w.once("error", reject);
        }),
    );
    await Promise.all(ready);
    const sampler = lockWaitSampler(scratch.url, 5);
    for (const w of workers) w.send("go");
    const r = await Promise.all(results);
    const seconds = Math.max(...r.map((x) => x.seconds));
    const wait = await sampler.stop(seconds);
    for (const w of workers) w.kill();
    const records = r.reduce((s, x) => s + x.records, 0);
    return {
      shards,
      records,
      records_per_s: Math.round(records / seconds),
      per_replica: r.map((x) => ({
        records_per_s: Math.round(x.records / x.seconds),
        batches: x.batches,
        mean_batch: Math.round((x.records / Math.max(1, x.batches)) * 10) / 10,
        commit_ms_mean: Math.round(x.commitMsMean * 100) / 100,
        // Share of one core the replica's process used: near 1 means the replica is CPU-bound.
        cpu_cores: Math.round((x.cpuSeconds / x.seconds) * 100) / 100,
      })),
      load_average_1m: loadavg()[0],
      advisory_lock_wait: wait,
    };
  } finally {
    await scratch.drop();
  }
}

const replicaAt = process.argv.indexOf("--replica");
if (replicaAt >= 0) {
  const result = await replica(JSON.parse(process.argv[replicaAt + 1]!) as Job);
  process.send!({ result }, () => process.exit(0));
} else {
  const arg = (name: string) => {
    const i = process.argv.indexOf(name);
    return i >= 0 ? process.argv[i + 1] : undefined;
  };
  const baseUrl = process.env.DATABASE_URL;
  if (!baseUrl)
    throw new Error("DATABASE_URL is not set (a Postgres the bench may create scratch databases next to)");
  const ms = Number(arg("--ms") ?? 4000);
  const outstanding = Number(arg("--outstanding") ?? 256);
  const counts = (arg("--shards") ?? "1,2,4").split(",").map(Number);
  const runs = [];
  for (const shards of counts) runs.push(await runShards(baseUrl, shards, ms, outstanding));
  console.log(
    JSON.stringify(
      {
        bench: "log-shards",
        replicas: 2,
        cpus: availableParallelism(),
        ms,
        outstanding_per_replica: outstanding,
        runs,
      },
      null,
      2,
    ),
  );
}
