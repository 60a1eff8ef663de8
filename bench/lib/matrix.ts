import type * as hdr from "hdr-histogram-js";
import { encodeHistogram, newHistogram, percentilesMs, runSegment, type SegmentResult } from "./load.js";
import { cpuSeconds, machineBusySeconds, memoryMiB, processTree } from "./procs.js";
import type { QuietCheck } from "./quiet.js";
import { searchMaxRate } from "./saturation-search.js";
import type { Target } from "./targets.js";
import { turns } from "./turns.js";

/**
 * The measurement plan: every target at every fixed rate, interleaved (round-robin, the order
 * rotated each round and reversed every other one, so drift on the machine and a process's
 * first segment after idling hit every target alike), then a saturation search per
 * non-streaming target, the searches side by side with their steps taking turns (the same
 * reason). CPU and RSS of the target's own process tree are read from /proc around each
 * segment.
 */

export interface MatrixOptions {
  rates: number[];
  rounds: number;
  segmentMs: number;
  warmupMs: number;
  /**
   * Load at the segment's own rate, not recorded, just before each measured segment (fixed cells
   * and saturation steps alike): the client's and the target's connection pools and queues
   * reach that rate's steady state, so a cell's tail is not the ramp from the previous one.
   */
  leadInMs: number;
  pauseMs: number;
  drainMs: number;
  maxInFlight: number;
  saturation: { stepMs: number; votes: number; factor: number; cap: number; targets?: string[] };
  /**
   * A segment during which other processes used more than `cores` CPU cores is measured again,
   * at most `retries` times; the quietest attempt is kept.
   */
  noise: { cores: number; retries: number };
  /**
   * The gate before every segment (bench/lib/quiet.ts): waits for the machine to be quiet and for
   * a previous target's backlog to drain (or stops that system). A segment that starts busy
   * counts as busy like one disturbed while it ran.
   */
  quiet?: (t: Target) => Promise<QuietCheck>;
  /** performance.now() by which the load phase must be over. */
  deadline: number;
  /** pid of each system's main process, by system name. */
  pids: Record<string, number>;
  /** Why a system can no longer be measured (it exited), or undefined while it runs. */
  gone: (system: string) => string | undefined;
  log: (line: string) => void;
}

export interface Cell {
  target: string;
  rate: number;
  sent: number;
  ok: number;
  errors: Record<string, number>;
  error_samples: Record<string, string>;
  latency_ms: ReturnType<typeof percentilesMs>;
  send_lag_ms: ReturnType<typeof percentilesMs>;
  /** CPU seconds of the target's process tree per 1,000 requests sent. */
  cpu_s_per_1k: number | null;
  /** CPU seconds of the upstream simulator per 1,000 requests (same for every target ideally). */
  upstream_cpu_s_per_1k: number | null;
  /** CPU seconds of the load generator per 1,000 requests (client cost of this protocol). */
  client_cpu_s_per_1k: number;
  /**
   * CPU used meanwhile by everything else on the machine (other users' tests, the OS), in cores:
   * machine busy time − target − simulator − load generator, over the wall time. The noise floor.
   */
  other_load_cores: number | null;
  /** Largest resident set of the target's process tree sampled during the cell, MiB. */
  rss_max_mib: number | null;
  segments: number;
  /**
   * Segments kept although the machine was busy (others above `noise.cores` before or while they
   * ran, after the retries allowed); absent in results before the quiet gate.
   */
  busy_segments?: number;
  /** Most cores busy on the machine just before one of this cell's segments (the quiet gate). */
  busy_before_cores_max?: number | null;
  histogram: string;
}

export interface SaturationStep {
  rate: number;
  passed: boolean;
  p99_ms: number;
  errors: number;
  send_lag_p99_ms: number;
}

export interface Saturation {
  target: string;
  max_sustainable_rps: number | null;
  /** Why the search stopped. */
  stopped: string;
  steps: SaturationStep[];
}

interface Acc {
  latency: hdr.Histogram;
  lag: hdr.Histogram;
  sent: number;
  ok: number;
  errors: Record<string, number>;
  samples: Record<string, string>;
  cpu: number | null;
  upstreamCpu: number | null;
  otherCpu: number | null;
  clientCpuMs: number;
  wallMs: number;
  rss: number | null;
  segments: number;
  busySegments: number;
  busyBefore: number | null;
}

const passes = (c: { ok: number; sent: number; latency_ms: { p99: number } }) =>
  c.ok === c.sent && c.latency_ms.p99 < 50;
const sumErrors = (e: Record<string, number>) => Object.values(e).reduce((a, b) => a + b, 0);

/** Runs one segment while sampling the resident memory of the target's process tree. */
async function withRssSampling(pids: number[], run: () => Promise<SegmentResult>) {
  let rss: number | null = null;
  const sample = async () => {
    const v = await memoryMiB(pids, "VmRSS");
    if (v !== null) rss = Math.max(rss ?? 0, v);
  };
  const timer = setInterval(() => void sample(), 250);
  const r = await run().finally(() => clearInterval(timer));
  await sample();
  return { r, rss };
}

export async function runMatrix(targets: Target[], o: MatrixOptions) {
  const cells = new Map<string, Acc>();
  const overloaded = new Map<string, string>();
  const skipped: { target: string; rate: number; reason: string }[] = [];
  const key = (t: string, r: number) => `${t}@${r}`;

  const measureOnce = async (t: Target, rate: number, ms: number) => {
    const pids = await processTree(o.pids[t.system]!);
    const simPids = await processTree(o.pids.simulator!);
    const same = t.system === "simulator";
    if (o.leadInMs > 0)
      await runSegment(t.call, {
        rate,
        durationMs: o.leadInMs,
        drainMs: o.drainMs,
        maxInFlight: o.maxInFlight,
      });
    const cpu0 = await cpuSeconds(pids);
    const sim0 = await cpuSeconds(simPids);
    const all0 = await machineBusySeconds();
    const { r, rss } = await withRssSampling(pids, () =>
      runSegment(t.call, { rate, durationMs: ms, drainMs: o.drainMs, maxInFlight: o.maxInFlight }),
    );
    const cpu1 = await cpuSeconds(pids);
    const sim1 = await cpuSeconds(simPids);
    const all1 = await machineBusySeconds();
    const cpu = cpu0 !== null && cpu1 !== null ? cpu1 - cpu0 : null;
    const simCpu = sim0 !== null && sim1 !== null ? sim1 - sim0 : null;
    const otherCpu =
      all0 !== null && all1 !== null && cpu !== null && simCpu !== null
        ? Math.max(0, all1 - all0 - cpu - (same ? 0 : simCpu) - r.clientCpuMs / 1000)
        : null;
    return { r, rss, cpu, simCpu, otherCpu };
  };

  // Other people's work on this machine lands on whichever segment happens to run: one busy
  // moment can fail a saturation step or mark a target overloaded for every higher rate (the
  // wide run-to-run spread of single targets). Such a segment is measured again after a pause.
  type Measured = Awaited<ReturnType<typeof measureOnce>> & { busy: boolean; busyBefore: number | null };
  const segment = async (t: Target, rate: number, ms: number): Promise<Measured | undefined> => {
    let best: { s: Measured; cores: number } | undefined;
    for (let k = 0; ; k++) {
      const q = o.quiet ? await o.quiet(t) : undefined;
      if (o.gone(t.system)) return best?.s;
      const m = await measureOnce(t, rate, ms);
      const cores = m.otherCpu === null ? 0 : m.otherCpu / (m.r.wallMs / 1000);
      const busy = cores > o.noise.cores || (q !== undefined && !q.quiet);
      const s = { ...m, busy, busyBefore: q?.busy_cores ?? null };
      // The quietest attempt; one that started quiet beats one that did not.
      const score = cores + (busy ? 10 : 0);
      if (!best || score < best.cores) best = { s, cores: score };
      if (!busy || k >= o.noise.retries) break;
      if (performance.now() + 1_000 + ms + o.drainMs > o.deadline) break;
      o.log(
        `  ${t.id} at ${rate} req/s: machine busy (${q && !q.quiet ? `${q.busy_cores} cores before the segment` : `others used ${cores.toFixed(2)} cores meanwhile`}); measuring again`,
      );
      await sleep(1_000);
    }
    return best?.s;
  };

  // Warm-up: JIT, connection pools, caches — not recorded.
  for (const t of targets) {
    await runSegment(t.call, {
      rate: 100,
      durationMs: o.warmupMs,
      drainMs: o.drainMs,
      maxInFlight: o.maxInFlight,
    });
    await sleep(o.pauseMs);
  }

  for (const rate of o.rates) {
    for (let round = 0; round < o.rounds; round++) {
      const order = rotate(targets, round);
      for (const t of order) {
        if (t.rates && !t.rates.includes(rate)) continue;
        const gone = o.gone(t.system);
        if (gone) {
          if (round === 0) skipped.push({ target: t.id, rate, reason: gone });
          continue;
        }
        if (overloaded.has(t.id)) {
          if (round === 0) skipped.push({ target: t.id, rate, reason: overloaded.get(t.id)! });
          continue;
        }
        if (performance.now() + o.segmentMs + o.drainMs > o.deadline) {
          if (round === 0) skipped.push({ target: t.id, rate, reason: "time budget" });
          continue;
        }
        const s = await segment(t, rate, o.segmentMs);
        if (!s) {
          if (round === 0) skipped.push({ target: t.id, rate, reason: o.gone(t.system) ?? "not measured" });
          continue;
        }
        const a = cells.get(key(t.id, rate)) ?? emptyAcc();
        merge(a, s);
        cells.set(key(t.id, rate), a);
        const p = percentilesMs(s.r.latency);
        const errs = sumErrors(s.r.errors);
        o.log(
          `  ${String(rate).padStart(4)} req/s r${round + 1} ${t.id.padEnd(20)} p50 ${p.p50.toFixed(2)} p99 ${p.p99.toFixed(2)} ms  errors ${errs}/${s.r.sent}`,
        );
        if (errs > s.r.sent * 0.01 || p.p99 > 1000)
          overloaded.set(t.id, `overloaded at ${rate} req/s (p99 ${p.p99} ms, ${errs} errors)`);
        await sleep(o.pauseMs);
      }
    }
  }
  const fixed = [...cells.entries()].map(([k, a]) => toCell(k.split("@")[0]!, Number(k.split("@")[1]), a));

  // Saturation search (saturation-search.ts): from the fixed rates, up by `factor`, then bisected.
  // The targets' searches run side by side and their steps take turns (turns.ts), so a change
  // in the machine during this phase meets every target's steps alike; the baseline and the
  // floor first, each on its own (`searchedAlone`).
  const saturation: Saturation[] = [];
  const stepTurns = turns();
  const stepCostMs = o.saturation.stepMs + o.drainMs;
  const searches: Array<() => Promise<void>> = [];
  const alone: Array<() => Promise<void>> = [];
  for (const t of targets) {
    if (t.kind !== "unary" || t.reference || t.variant) continue;
    if (o.saturation.targets && !o.saturation.targets.includes(t.id)) continue;
    const passing = fixed.filter((c) => c.target === t.id && passes(c)).map((c) => c.rate);
    const sat: Saturation = {
      target: t.id,
      max_sustainable_rps: null,
      stopped: "",
      steps: [],
    };
    saturation.push(sat);
    /** One saturation step at `rate`, in its turn: measured, recorded in `sat.steps`, logged. */
    const step = (rate: number) =>
      stepTurns.take(async () => {
        const s = await segment(t, rate, o.saturation.stepMs);
        if (!s) return { passed: false, lagP99: 0 };
        const p = percentilesMs(s.r.latency);
        const lag = percentilesMs(s.r.lag);
        const errs = sumErrors(s.r.errors);
        const passed = errs === 0 && p.p99 < 50;
        sat.steps.push({ rate, passed, p99_ms: p.p99, errors: errs, send_lag_p99_ms: lag.p99 });
        o.log(
          `  saturation ${t.id.padEnd(16)} ${String(rate).padStart(5)} req/s p99 ${p.p99.toFixed(2)} ms errors ${errs} lag p99 ${lag.p99} ms ${passed ? "ok" : "FAIL"}`,
        );
        return { passed, lagP99: lag.p99 };
      });
    if (!fixed.some((c) => c.target === t.id)) {
      sat.stopped = "not measured (time budget)";
      continue;
    }
    const failing = fixed.filter((c) => c.target === t.id && !passes(c)).map((c) => c.rate);
    (t.searchedAlone ? alone : searches).push(() =>
      searchMaxRate(step, passing, failing, Math.min(...o.rates), {
        votes: o.saturation.votes,
        factor: o.saturation.factor,
        cap: o.saturation.cap,
        gone: () => o.gone(t.system),
        // The steps queued before this one's turn come first.
        outOfTime: () => performance.now() + (stepTurns.pending() + 1) * stepCostMs > o.deadline,
        pause: async (long) => {
          await sleep(o.pauseMs * (long ? 5 : 2));
        },
      }).then((found) => {
        sat.max_sustainable_rps = found.max;
        sat.stopped = found.stopped;
      }),
    );
  }
  for (const search of alone) await search();
  await Promise.all(searches.map((search) => search()));
  return { fixed, saturation, skipped };
}

function emptyAcc(): Acc {
  return {
    latency: newHistogram(),
    lag: newHistogram(),
    sent: 0,
    ok: 0,
    errors: {},
    samples: {},
    cpu: 0,
    upstreamCpu: 0,
    otherCpu: 0,
    clientCpuMs: 0,
    wallMs: 0,
    rss: null,
    segments: 0,
    busySegments: 0,
    busyBefore: null,
  };
}

function merge(
  a: Acc,
  s: {
    r: SegmentResult;
    rss: number | null;
    cpu: number | null;
    simCpu: number | null;
    otherCpu: number | null;
    busy: boolean;
    busyBefore: number | null;
  },
) {
  a.latency.add(s.r.latency);
  a.lag.add(s.r.lag);
  a.sent += s.r.sent;
  a.ok += s.r.ok;
  for (const [k, v] of Object.entries(s.r.errors)) a.errors[k] = (a.errors[k] ?? 0) + v;
  for (const [k, v] of Object.entries(s.r.errorSamples)) a.samples[k] ??= v;
  a.cpu = a.cpu === null || s.cpu === null ? null : a.cpu + s.cpu;
  a.upstreamCpu = a.upstreamCpu === null || s.simCpu === null ? null : a.upstreamCpu + s.simCpu;
  a.otherCpu = a.otherCpu === null || s.otherCpu === null ? null : a.otherCpu + s.otherCpu;
  a.clientCpuMs += s.r.clientCpuMs;
  a.wallMs += s.r.wallMs;
  a.rss = s.rss === null ? a.rss : Math.max(a.rss ?? 0, s.rss);
  a.segments++;
  if (s.busy) a.busySegments++;
  if (s.busyBefore !== null) a.busyBefore = Math.max(a.busyBefore ?? 0, s.busyBefore);
}

function toCell(target: string, rate: number, a: Acc): Cell {
  const per1k = (x: number | null) =>
    x === null || a.sent === 0 ? null : Math.round((x / a.sent) * 1000 * 1000) / 1000;
  return {
    target,
    rate,
    sent: a.sent,
    ok: a.ok,
    errors: a.errors,
    error_samples: a.samples,
    latency_ms: percentilesMs(a.latency),
    send_lag_ms: percentilesMs(a.lag),
    cpu_s_per_1k: per1k(a.cpu),
    upstream_cpu_s_per_1k: per1k(a.upstreamCpu),
    client_cpu_s_per_1k: per1k(a.clientCpuMs / 1000)!,
    other_load_cores: a.otherCpu === null ? null : Math.round((a.otherCpu / (a.wallMs / 1000)) * 100) / 100,
    rss_max_mib: a.rss,
    segments: a.segments,
    busy_segments: a.busySegments,
    busy_before_cores_max: a.busyBefore,
    histogram: encodeHistogram(a.latency),
  };
}

/**
 * Round `n`'s order: rotated by `n`, and reversed in every other round, so that each pair of
 * targets is measured in both orders (a process's first segment after it idled while the others
 * ran is not always the same target's: bench/findings.md "session 13").
 */
function rotate<T>(xs: T[], n: number): T[] {
  const k = n % xs.length;
  const rotated = [...xs.slice(k), ...xs.slice(0, k)];
  return n % 2 === 1 ? rotated.reverse() : rotated;
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
