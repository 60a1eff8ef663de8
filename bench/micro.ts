/**
 * Micro-benchmarks of what sovr does per request besides proxying (docs/architecture.md §9):
 *  - Ed25519 signing of one realistic decision record (DSSE envelope, `signEnvelope`), and the
 *    whole per-record preparation `AuditLog.append` does before queueing (sign + canonical
 *    envelope JSON + leaf hash);
 *  - durable audit append with group commit (`AuditLog` over `openDatabase`): saturated
 *    throughput (records/s, each record built, encoded and signed as the router does) and
 *    latency — per committed transaction, and per record from append() to durable — saturated
 *    and at a fixed record rate, on a scratch database created (and dropped) for the run,
 *    on embedded PGlite and, when SOVR_BENCH_DATABASE_URL or DATABASE_URL is set, Postgres;
 *  - Merkle inclusion proof at 1,000,000 leaves (`MerkleTree.inclusionProof`), and its check.
 * Policy evaluation is measured by bench/policy-eval.ts (run.ts runs both).
 *
 * Run: node --import tsx bench/micro.ts [--quick] [--only audit] [--batch-delay-ms N]   (prints JSON)
 *   --only audit       only the durable append part (PGlite, then Postgres when a URL is set)
 *   --batch-delay-ms   group-commit delay of the log under test (default: the config default)
 */
import { randomBytes, randomUUID } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { AuditLog } from "../src/audit/audit-log.js";
import { entryLeafHash, signEnvelope } from "../src/audit/dsse.js";
import { generateSigningKey } from "../src/audit/keys.js";
import { MerkleTree, verifyInclusion } from "../src/audit/merkle.js";
import type { DecisionRecordV1 } from "../src/audit/record.js";
import { encodeRecord } from "../src/audit/record.js";
import { loadConfig } from "../src/config/config.js";
import { openDatabase } from "../src/db/index.js";
import { canonicalize } from "../src/encoding/canonical-json.js";
import { newHistogram, percentilesMs } from "./lib/load.js";
import { scratchDatabase } from "./lib/scratch-db.js";

const quick = process.argv.includes("--quick");
const argValue = (name: string) => {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
};
const only = argValue("--only");
const batchDelayMs = Number(argValue("--batch-delay-ms") ?? loadConfig({}).audit.batchDelayMs);
const batchMax = 512;
const key = generateSigningKey();

/** A decision record for `sim/chat-small` (format v1; the router writes v2): 3 candidates, one denied. */
function decisionRecord(): DecisionRecordV1 {
  const candidate = (id: string, eligible: boolean, weight: number) => ({
    endpoint_id: id,
    model: "sim/chat-small",
    eligible,
    exclusions: eligible
      ? []
      : [
          {
            stage: "policy",
            rule: "zdr",
            reason: `${id} retains prompts for 30 days (provider policy); zdr requires 0`,
          },
        ],
    weight_ppb: weight,
    unhealthy: false,
    ttft_us: eligible ? 1830 : null,
    tokens_per_second_milli: eligible ? 5_120_000 : null,
  });
  return {
    v: 1,
    kind: "decision",
    decision_id: randomUUID(),
    time_us: Date.now() * 1000,
    router: "bench-host-4242",
    principal: { tenant: "acme-health", workload: "claims-triage", roles: ["client"] },
    request: {
      model: "sim/chat-small",
      models: [],
      provider: { allow_fallbacks: true, zdr: true, data_collection: "deny" },
      region: "eu",
      labels: { team: "claims", env: "prod" },
      message_count: 3,
      estimated_prompt_tokens: 812,
      max_tokens: 512,
      parameters: ["max_tokens", "temperature"],
    },
    policy: { revision: "2026-10-01T00:00:00Z-3f2a", sha256: "9".repeat(64), eval_us: 41 },
    catalog_revision: "c".repeat(64),
    candidates: [
      candidate("sim-eu/chat-small", true, 1_000_000_000),
      candidate("sim-unknown/chat-small", true, 250_000_000),
      candidate("sim-us/chat-small", false, 0),
    ],
    seed: "12345678901234567890",
    plan: ["sim-eu/chat-small", "sim-unknown/chat-small"],
  };
}

function timeOps(ms: number, op: () => void) {
  for (let i = 0; i < 200; i++) op();
  const h = newHistogram();
  const until = performance.now() + ms;
  let n = 0;
  const t0 = performance.now();
  while (performance.now() < until) {
    const s = performance.now();
    op();
    h.recordValue(Math.max(1, Math.round((performance.now() - s) * 1000)));
    n++;
  }
  const wall = performance.now() - t0;
  const us = (v: number) => Math.round(v * 10) / 10;
  return {
    ops: n,
    ops_per_s: Math.round(n / (wall / 1000)),
    p50_us: us(h.getValueAtPercentile(50)),
    p99_us: us(h.getValueAtPercentile(99)),
    mean_us: us((wall * 1000) / n),
  };
}

function signing() {
  const payload = encodeRecord(decisionRecord());
  const ms = quick ? 700 : 2_000;
  return {
    record_bytes: payload.length,
    sign_only: timeOps(ms, () => signEnvelope(payload, key)),
    append_preparation: timeOps(ms, () => {
      const env = signEnvelope(payload, key);
      canonicalize(env);
      entryLeafHash(env);
    }),
  };
}

async function auditAppend(kind: "pglite" | "postgres", databaseUrl?: string) {
  const dir = await mkdtemp(join(tmpdir(), "sovr-bench-audit-"));
  const db = await openDatabase({ databaseUrl, dataDir: dir });
  // Every committed transaction: its duration (the commit latency) and how many records it held.
  let batches = newHistogram();
  let batchRecords = 0;
  let batchCount = 0;
  const log = new AuditLog(db.db, db.kind, key, {
    batchDelayMs,
    batchMax,
    onBatch: (size, seconds) => {
      batches.recordValue(Math.max(1, Math.round(seconds * 1e6)));
      batchRecords += size;
      batchCount++;
    },
  });
  const takeBatches = () => {
    const r = {
      transactions: batchCount,
      mean_batch: Math.round((batchRecords / Math.max(1, batchCount)) * 10) / 10,
      commit_ms: percentilesMs(batches),
    };
    batches = newHistogram();
    batchRecords = 0;
    batchCount = 0;
    return r;
  };
  const decisionRow = () => {
    const r = decisionRecord();
    return {
      kind: "decision" as const,
      decisionId: r.decision_id,
      recordedAt: new Date(),
      payload: encodeRecord(r),
      index: {
        tenant: r.principal.tenant,
        model: r.request.model,
        endpoint_id: r.plan[0] ?? null,
        outcome: "pending" as const,
        policy_revision: r.policy.revision,
        policy_sha256: r.policy.sha256,
        catalog_revision: r.catalog_revision,
      },
    };
  };
  try {
    // Warm-up (connections, prepared plans, JIT).
    await Promise.all(Array.from({ length: 500 }, () => log.append(decisionRow())));
    takeBatches();

    // 1. Saturated: keep `concurrency` appends outstanding; records/s and batch commit latency.
    const concurrency = 1024;
    const runMs = quick ? 1_500 : 4_000;
    const commit = newHistogram();
    let done = 0;
    const until = performance.now() + runMs;
    const t0 = performance.now();
    const worker = async () => {
      while (performance.now() < until) {
        const s = performance.now();
        await log.append(decisionRow());
        commit.recordValue(Math.max(1, Math.round((performance.now() - s) * 1000)));
        done++;
      }
    };
    await Promise.all(Array.from({ length: concurrency }, worker));
    const saturated = {
      outstanding: concurrency,
      records: done,
      records_per_s: Math.round(done / ((performance.now() - t0) / 1000)),
      append_to_durable_ms: percentilesMs(commit),
      transactions: takeBatches(),
    };

    // 2. Open loop at fixed record rates: the latency a request's decision record adds before
    //    the prompt may leave. 1,000 records/s is what 500 req/s produces (decision + outcome).
    const atRate = async (rate: number, n: number) => {
      const lat = newHistogram();
      const pending: Promise<unknown>[] = [];
      const start = performance.now();
      let i = 0;
      await new Promise<void>((resolve) => {
        const tick = () => {
          while (i < n && start + i * (1000 / rate) <= performance.now()) {
            i++;
            const s = performance.now();
            pending.push(
              log
                .append(decisionRow())
                .then(() => lat.recordValue(Math.max(1, Math.round((performance.now() - s) * 1000)))),
            );
          }
          if (i >= n) return resolve();
          setTimeout(tick, Math.max(0, start + i * (1000 / rate) - performance.now()));
        };
        tick();
      });
      await Promise.all(pending);
      await log.drain();
      return {
        records_per_s: rate,
        records: n,
        append_to_durable_ms: percentilesMs(lat),
        transactions: takeBatches(),
      };
    };
    const at_low_rate = await atRate(100, quick ? 300 : 800);
    const at_fixed_rate = await atRate(1_000, quick ? 1_500 : 4_000);
    return {
      database: kind,
      group_commit: { batch_delay_ms: batchDelayMs, batch_max: batchMax },
      saturated,
      at_fixed_rate,
      at_low_rate,
    };
  } finally {
    await db.close();
    await rm(dir, { recursive: true, force: true });
  }
}

function merkle() {
  const leaves = 1_000_000;
  const t0 = performance.now();
  const tree = new MerkleTree();
  const buf = randomBytes(32 * 1024);
  for (let i = 0; i < leaves; i++) {
    const o = (i % 1024) * 32;
    const leaf = new Uint8Array(32);
    leaf.set(buf.subarray(o, o + 32));
    leaf[0] = i & 0xff;
    leaf[1] = (i >> 8) & 0xff;
    leaf[2] = (i >> 16) & 0xff;
    tree.append(leaf);
  }
  const buildMs = performance.now() - t0;
  const root = tree.root();
  const idx = () => Math.floor(Math.random() * leaves);
  const ms = quick ? 700 : 2_000;
  const proof = timeOps(ms, () => tree.inclusionProof(idx(), leaves));
  const samples = Array.from({ length: 2_000 }, () => {
    const i = idx();
    return { i, leaf: tree.leaf(i), proof: tree.inclusionProof(i, leaves) };
  });
  let k = 0;
  const verify = timeOps(ms, () => {
    const s = samples[k++ % samples.length]!;
    if (!verifyInclusion(s.leaf, s.i, leaves, s.proof, root)) throw new Error("proof did not verify");
  });
  // Proof against an older tree size: not every subtree is a stored perfect one.
  const older = timeOps(ms, () => tree.inclusionProof(Math.floor(Math.random() * 999_999), 999_999));
  return {
    leaves,
    build_s: Math.round(buildMs) / 1000,
    proof_hashes: tree.inclusionProof(0, leaves).length,
    inclusion_proof: proof,
    inclusion_proof_at_size_999999: older,
    verify_inclusion: verify,
  };
}

const started = performance.now();
const databaseUrl = process.env.SOVR_BENCH_DATABASE_URL ?? process.env.DATABASE_URL;
const audit = [await auditAppend("pglite")];
if (databaseUrl) {
  const scratch = await scratchDatabase(databaseUrl, "micro");
  try {
    audit.push(await auditAppend("postgres", scratch.url));
  } finally {
    await scratch.drop();
  }
}
const out =
  only === "audit"
    ? { benchmark: "micro", quick, audit_append: audit }
    : {
        benchmark: "micro",
        quick,
        signing: signing(),
        audit_append: audit,
        audit_append_postgres: databaseUrl
          ? "measured"
          : "not measured: neither SOVR_BENCH_DATABASE_URL nor DATABASE_URL set",
        merkle: merkle(),
      };
console.log(JSON.stringify({ ...out, duration_s: Math.round(performance.now() - started) / 1000 }, null, 2));
