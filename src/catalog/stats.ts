/**
 * Live per-endpoint statistics from the router's own traffic (issue 3): uptime over the last 5
 * and 30 minutes, time-to-first-token p50/p90 and tokens per second.
 *
 * Memory is bounded: each endpoint keeps a ring of fixed time buckets covering the longest
 * window; a bucket holds counters and a log-scale TTFT histogram (bins 2^(1/4) apart, so a
 * reported percentile is within ~9% of the true value). Old buckets are recycled, never grown.
 * The clock is injected so tests and replays are deterministic.
 */

export interface StatsSample {
  ok: boolean;
  /** Time to first token, ms. */
  ttftMs?: number;
  /** Completion tokens produced. */
  tokens?: number;
  /** Whole request duration, ms. */
  durationMs?: number;
  /** When the request finished (epoch ms); defaults to the tracker's clock. */
  at?: number;
}

export interface EndpointStats {
  endpointId: string;
  requests5m: number;
  requests30m: number;
  /** Share of successful requests, 0..1; null without traffic in the window. */
  uptime5m: number | null;
  uptime30m: number | null;
  /** Over the last 30 minutes; null without samples. */
  ttftP50Ms: number | null;
  ttftP90Ms: number | null;
  /**
   * Completion tokens per second of generation (after the first token when TTFT is known),
   * over the last 30 minutes: total tokens / total generation time.
   */
  tokensPerSecond: number | null;
}

export interface StatsTrackerOptions {
  now?: () => number;
  /** Bucket width; default 10 s. */
  bucketMs?: number;
}

const SHORT_WINDOW_MS = 5 * 60_000;
const LONG_WINDOW_MS = 30 * 60_000;
/** Bins per doubling of the TTFT histogram. */
const BINS_PER_OCTAVE = 4;
/** Bin 0 holds < 1 ms; the last bin everything from 2^18 ms (~4.4 min) up. */
const HISTOGRAM_BINS = 18 * BINS_PER_OCTAVE + 2;

interface Bucket {
  /** Index of the time slot this bucket currently holds (floor(at / bucketMs)). */
  slot: number;
  total: number;
  ok: number;
  tokens: number;
  generationMs: number;
  ttft: Uint32Array | null;
}

function binOf(ms: number): number {
  if (ms < 1) return 0;
  return Math.min(HISTOGRAM_BINS - 1, 1 + Math.floor(Math.log2(ms) * BINS_PER_OCTAVE));
}

/** Representative value of a bin: its geometric midpoint. */
function binValue(bin: number): number {
  if (bin === 0) return 0.5;
  return 2 ** ((bin - 1 + 0.5) / BINS_PER_OCTAVE);
}

export class EndpointStatsTracker {
  readonly #now: () => number;
  readonly #bucketMs: number;
  readonly #slots: number;
  readonly #rings = new Map<string, Bucket[]>();

  constructor(options: StatsTrackerOptions = {}) {
    this.#now = options.now ?? Date.now;
    this.#bucketMs = options.bucketMs ?? 10_000;
    if (!(this.#bucketMs > 0) || LONG_WINDOW_MS % this.#bucketMs !== 0) {
      throw new RangeError("bucketMs must divide 30 minutes");
    }
    // One extra slot: the current, partly elapsed bucket.
    this.#slots = LONG_WINDOW_MS / this.#bucketMs + 1;
  }

  /** Records one finished request. Samples older than the longest window are ignored. */
  record(endpointId: string, sample: StatsSample): void {
    const now = this.#now();
    const at = Math.min(sample.at ?? now, now);
    const slot = Math.floor(at / this.#bucketMs);
    if (slot <= Math.floor(now / this.#bucketMs) - this.#slots) return;
    let ring = this.#rings.get(endpointId);
    if (!ring) {
      ring = Array.from({ length: this.#slots }, () => ({
        slot: -1,
        total: 0,
        ok: 0,
        tokens: 0,
        generationMs: 0,
        ttft: null,
      }));
      this.#rings.set(endpointId, ring);
    }
    const bucket = ring[slot % this.#slots]!;
    if (bucket.slot !== slot) {
      bucket.slot = slot;
      bucket.total = bucket.ok = bucket.tokens = bucket.generationMs = 0;
      bucket.ttft?.fill(0);
    }
    bucket.total++;
    if (!sample.ok) return;
    bucket.ok++;
    if (sample.ttftMs !== undefined && Number.isFinite(sample.ttftMs) && sample.ttftMs >= 0) {
      bucket.ttft ??= new Uint32Array(HISTOGRAM_BINS);
      bucket.ttft[binOf(sample.ttftMs)]!++;
    }
    if (sample.tokens !== undefined && sample.durationMs !== undefined && sample.tokens > 0) {
      const generation = sample.durationMs - (sample.ttftMs ?? 0);
      if (generation > 0) {
        bucket.tokens += sample.tokens;
        bucket.generationMs += generation;
      }
    }
  }

  /** Statistics of one endpoint as of now (all null/0 for an endpoint without traffic). */
  get(endpointId: string): EndpointStats {
    const nowSlot = Math.floor(this.#now() / this.#bucketMs);
    const shortFrom = nowSlot - SHORT_WINDOW_MS / this.#bucketMs;
    const longFrom = nowSlot - LONG_WINDOW_MS / this.#bucketMs;
    let total5 = 0;
    let ok5 = 0;
    let total30 = 0;
    let ok30 = 0;
    let tokens = 0;
    let generationMs = 0;
    const ttft = new Uint32Array(HISTOGRAM_BINS);
    for (const b of this.#rings.get(endpointId) ?? []) {
      if (b.slot < longFrom || b.slot > nowSlot) continue;
      total30 += b.total;
      ok30 += b.ok;
      tokens += b.tokens;
      generationMs += b.generationMs;
      if (b.ttft) for (let i = 0; i < HISTOGRAM_BINS; i++) ttft[i]! += b.ttft[i]!;
      if (b.slot >= shortFrom) {
        total5 += b.total;
        ok5 += b.ok;
      }
    }
    return {
      endpointId,
      requests5m: total5,
      requests30m: total30,
      uptime5m: total5 === 0 ? null : ok5 / total5,
      uptime30m: total30 === 0 ? null : ok30 / total30,
      ttftP50Ms: percentile(ttft, 0.5),
      ttftP90Ms: percentile(ttft, 0.9),
      tokensPerSecond: generationMs === 0 ? null : tokens / (generationMs / 1000),
    };
  }

  /** Statistics of every endpoint seen so far, by id. */
  all(): Map<string, EndpointStats> {
    return new Map([...this.#rings.keys()].sort().map((id) => [id, this.get(id)]));
  }

  /** Drops an endpoint's history (e.g. removed from the catalog). */
  forget(endpointId: string): void {
    this.#rings.delete(endpointId);
  }
}

function percentile(histogram: Uint32Array, p: number): number | null {
  let count = 0;
  for (const n of histogram) count += n;
  if (count === 0) return null;
  const rank = Math.max(1, Math.ceil(p * count));
  let seen = 0;
  for (let i = 0; i < histogram.length; i++) {
    seen += histogram[i]!;
    if (seen >= rank) return binValue(i);
  }
  return binValue(histogram.length - 1);
}
