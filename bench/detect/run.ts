/**
 * `npm run bench:detect` (issue 16, item 4): our detectors (src/detect) and Presidio's pattern
 * recognizers on the same frozen corpus — precision and recall per category, throughput — and
 * the request-path cost of ours in µs per KB (p50/p99 over the corpus records) and per 1 KB
 * prompt cut from them (the target: p99 ≤ 50 µs; see timePrompts for how calls are timed).
 *
 * Matching is span-level: "overlap" counts a predicted span as right when it overlaps a gold
 * span of the same category (each gold span once); "exact" also requires equal offsets.
 * Presidio runs from .tools/presidio-venv (scripts/install-presidio.sh) on a blank spaCy
 * pipeline; with SOVR_BENCH_NO_PRESIDIO=1 (or no venv) only ours is measured.
 * Writes bench/results/detect-<date>.json and prints a markdown summary.
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { resolve } from "node:path";
import { CATEGORIES, DETECTOR_VERSION, findSpans } from "../../src/detect/index.js";
import {
  type CorpusRecord,
  type GoldSpan,
  loadCorpus,
  type Score,
  score,
} from "../../test/support/detect-corpus.js";
import { machineInfo } from "../lib/machine.js";

const REPO = resolve(import.meta.dirname, "../..");
const VENV = resolve(REPO, ".tools/presidio-venv");
const CHECKSUMMED = ["iban", "payment_card", "national_id"];

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] as number;
}

function measureOurs(records: CorpusRecord[]) {
  const bytes = records.reduce((n, r) => n + Buffer.byteLength(r.text), 0);
  for (let i = 0; i < 3; i++) for (const r of records) findSpans(r.text); // warm-up (JIT)
  // Throughput: whole corpus, best of 5 passes, by this process's CPU time (a pass takes tens of
  // milliseconds: on a shared machine its wall time holds other processes' time slices); the
  // best wall time is kept beside it.
  let best = Number.POSITIVE_INFINITY;
  let bestWall = Number.POSITIVE_INFINITY;
  for (let pass = 0; pass < 5; pass++) {
    const c0 = process.cpuUsage();
    const t0 = process.hrtime.bigint();
    for (const r of records) findSpans(r.text);
    bestWall = Math.min(bestWall, Number(process.hrtime.bigint() - t0) / 1e9);
    const cpu = process.cpuUsage(c0);
    best = Math.min(best, (cpu.user + cpu.system) / 1e6);
  }
  // Request-path cost: each record timed alone, µs per KB of its UTF-8 size, 5 rounds.
  const perKb: number[] = [];
  for (let round = 0; round < 5; round++)
    for (const r of records) {
      const t0 = process.hrtime.bigint();
      findSpans(r.text);
      const us = Number(process.hrtime.bigint() - t0) / 1e3;
      perKb.push(us / (Buffer.byteLength(r.text) / 1024));
    }
  perKb.sort((a, b) => a - b);
  // 1 KB prompts built from corpus records (the "typical 1 KB prompt"), each a flat
  // string as a request's JSON parser makes it (not a slice of the concatenation).
  const kb: string[] = [];
  let cur = "";
  for (const r of records) {
    cur += `${r.text}\n`;
    if (cur.length >= 1024) {
      kb.push(JSON.parse(JSON.stringify(cur.slice(0, 1024))) as string);
      cur = "";
    }
  }
  for (let i = 0; i < 3; i++) for (const t of kb) findSpans(t); // warm-up on these strings too
  return {
    predicted: records.map((r) => findSpans(r.text)),
    mb_per_s: bytes / 1e6 / best,
    mb_per_s_wall: bytes / 1e6 / bestWall,
    us_per_kb: { p50: percentile(perKb, 50), p99: percentile(perKb, 99) },
    us_per_1kb_prompt: timePrompts(kb),
    bytes,
  };
}

/**
 * Each prompt timed alone, in turn, 20 rounds. `all_calls` is every call as timed. `p50`/`p99`
 * (the target) are the same calls, except that a call during which the operating system ran
 * something else instead of this process (wall time more than 10 µs above the process's CPU
 * time) is timed again later in the round, after other prompts, up to five times: on a machine
 * shared with other work such a preemption (often a millisecond or more) lands in a few percent
 * of the calls and is no cost of the detector. What the detector costs stays in: garbage
 * collection and anything else this process does during the call count as its CPU time.
 */
function timePrompts(kb: string[]) {
  const all: number[] = [];
  const kept: number[] = [];
  const byPrompt: number[][] = kb.map(() => []);
  let retimed = 0;
  for (let round = 0; round < 20; round++) {
    const queue = kb.map((_, i) => i);
    const tries = new Uint8Array(kb.length);
    for (let q = 0; q < queue.length; q++) {
      const i = queue[q] as number;
      const c0 = process.cpuUsage();
      const t0 = process.hrtime.bigint();
      findSpans(kb[i] as string);
      const t1 = process.hrtime.bigint();
      const cpu = process.cpuUsage(c0);
      const us = Number(t1 - t0) / 1e3;
      if (tries[i] === 0) all.push(us);
      if (us - (cpu.user + cpu.system) > 10 && (tries[i] as number) < 5) {
        tries[i] = (tries[i] as number) + 1;
        retimed++;
        queue.push(i);
      } else {
        kept.push(us);
        (byPrompt[i] as number[]).push(us);
      }
    }
  }
  all.sort((a, b) => a - b);
  kept.sort((a, b) => a - b);
  // How the cost varies with the content alone: each prompt's median over its rounds.
  const medians = byPrompt
    .map((t) =>
      percentile(
        t.sort((a, b) => a - b),
        50,
      ),
    )
    .sort((a, b) => a - b);
  return {
    p50: percentile(kept, 50),
    p99: percentile(kept, 99),
    n: kb.length,
    calls: kept.length,
    retimed_after_preemption: retimed,
    all_calls: { p50: percentile(all, 50), p99: percentile(all, 99) },
    prompt_medians: { p50: percentile(medians, 50), p99: percentile(medians, 99) },
  };
}

function runPresidio(file: string, bytes: number) {
  const python = resolve(VENV, "bin/python");
  if (process.env.SOVR_BENCH_NO_PRESIDIO === "1" || !existsSync(python)) return undefined;
  const res = spawnSync(python, [resolve(import.meta.dirname, "presidio_spans.py"), file, VENV], {
    encoding: "utf8",
    maxBuffer: 256 * 2 ** 20,
  });
  if (res.status !== 0) throw new Error(`presidio_spans.py exited ${res.status}`);
  const out = JSON.parse(res.stdout) as { spans: GoldSpan[][]; seconds: number; version: string };
  return { predicted: out.spans, mb_per_s: bytes / 1e6 / out.seconds, version: out.version };
}

function row(name: string, s: Record<string, Score>, cat: string): string {
  const x = s[cat] as Score;
  return `| ${name} | ${cat} | ${x.precision.toFixed(3)} | ${x.recall.toFixed(3)} | ${x.tp} | ${x.fp} | ${x.fn} |`;
}

function main(): void {
  const machine = machineInfo();
  const results: Record<string, unknown> = { machine, detector_version: DETECTOR_VERSION };
  const lines: string[] = [];
  let failed = false;
  for (const name of ["corpus", "heldout"] as const) {
    const records = loadCorpus(name);
    const ours = measureOurs(records);
    const presidio = runPresidio(resolve(REPO, `test/fixtures/detect/${name}.jsonl`), ours.bytes);
    const oursOverlap = score(records, ours.predicted, CATEGORIES, "overlap");
    const oursExact = score(records, ours.predicted, CATEGORIES, "exact");
    const presOverlap = presidio ? score(records, presidio.predicted, CATEGORIES, "overlap") : undefined;
    lines.push(
      `\n### ${name}.jsonl (${records.length} records, ${(ours.bytes / 1e3).toFixed(0)} KB)\n`,
      "| detector | category | precision | recall | tp | fp | fn |",
      "| --- | --- | --- | --- | --- | --- | --- |",
    );
    for (const c of CATEGORIES) {
      lines.push(row("sovr (overlap)", oursOverlap, c), row("sovr (exact)", oursExact, c));
      if (presOverlap) lines.push(row(`presidio ${presidio?.version} (overlap)`, presOverlap, c));
    }
    lines.push(
      "",
      `throughput: sovr ${ours.mb_per_s.toFixed(1)} MB/s of CPU time (${ours.mb_per_s_wall.toFixed(1)} MB/s wall)` +
        (presidio
          ? `, presidio ${presidio.mb_per_s.toFixed(3)} MB/s (${(ours.mb_per_s / presidio.mb_per_s).toFixed(0)}×)`
          : ""),
      `sovr per record: p50 ${ours.us_per_kb.p50.toFixed(1)} µs/KB, p99 ${ours.us_per_kb.p99.toFixed(1)} µs/KB; ` +
        `per 1 KB prompt (${ours.us_per_1kb_prompt.n} prompts × 20): p50 ${ours.us_per_1kb_prompt.p50.toFixed(1)} µs, p99 ${ours.us_per_1kb_prompt.p99.toFixed(1)} µs ` +
        `(${ours.us_per_1kb_prompt.retimed_after_preemption} calls preempted by the OS timed again; ` +
        `every first timing: p50 ${ours.us_per_1kb_prompt.all_calls.p50.toFixed(1)} µs, p99 ${ours.us_per_1kb_prompt.all_calls.p99.toFixed(1)} µs; ` +
        `each prompt's median: p99 ${ours.us_per_1kb_prompt.prompt_medians.p99.toFixed(1)} µs)`,
    );
    for (const c of CHECKSUMMED) {
      const x = oursOverlap[c] as Score;
      if (x.precision < 0.95 || x.recall < 0.95) failed = true;
    }
    if (ours.us_per_1kb_prompt.p99 > 50) failed = true;
    results[name] = {
      sovr: {
        overlap: oursOverlap,
        exact: oursExact,
        mb_per_s: ours.mb_per_s,
        mb_per_s_wall: ours.mb_per_s_wall,
        us_per_kb: ours.us_per_kb,
        us_per_1kb_prompt: ours.us_per_1kb_prompt,
      },
      presidio: presidio && { version: presidio.version, overlap: presOverlap, mb_per_s: presidio.mb_per_s },
    };
  }
  const dir = resolve(REPO, "bench/results");
  mkdirSync(dir, { recursive: true });
  const file = resolve(dir, `detect-${machine.date.slice(0, 19).replace(/:/g, "-")}.json`);
  writeFileSync(file, `${JSON.stringify(results, null, 2)}\n`);
  process.stdout.write(
    `## detectors (${DETECTOR_VERSION}) — ${machine.cpu}, ${machine.cores} cores, node ${machine.node}\n${lines.join("\n")}\n\nwritten ${file}\n`,
  );
  if (failed) {
    process.stdout.write(
      "TARGET MISSED: checksummed precision/recall < 0.95 or p99 > 50 µs per 1 KB prompt\n",
    );
    process.exitCode = 1;
  }
}

main();
