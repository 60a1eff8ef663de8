import { OutcomeWindow } from "./outcome-window.js";
import type { EndpointPerformance } from "./types.js";

export interface HealthOptions {
  /** Outage window (OpenRouter: "significant outages in the last 30 seconds"). */
  windowMs?: number;
  /** Consecutive failures that make an endpoint unhealthy. */
  failureStreak?: number;
  /** Failure ratio over the window that makes it unhealthy, once `minSamples` were seen. */
  failureRatio?: number;
  minSamples?: number;
  /** Weight of a new sample in the rolling TTFT and tokens/s (exponential moving average). */
  alpha?: number;
  now?: () => number;
}

interface State {
  /** Outcomes in the window, failures counted (O(1) amortised per call, not O(window)). */
  recent: OutcomeWindow;
  streak: number;
  /** A 429's Retry-After: unhealthy until then. */
  coolDownUntil: number;
  ttftMs?: number;
  tokensPerSecond?: number;
}

/**
 * Per-endpoint health memory of this router instance (docs/architecture.md §6 step 4). Local to the process:
 * replicas keep their own, which is why the decision record stores the flags it used.
 */
export class HealthTracker {
  readonly #states = new Map<string, State>();
  readonly #o: Required<HealthOptions>;

  constructor(opts: HealthOptions = {}) {
    this.#o = {
      windowMs: opts.windowMs ?? 30_000,
      failureStreak: opts.failureStreak ?? 3,
      failureRatio: opts.failureRatio ?? 0.5,
      minSamples: opts.minSamples ?? 4,
      alpha: opts.alpha ?? 0.2,
      now: opts.now ?? Date.now,
    };
  }

  #state(id: string): State {
    let s = this.#states.get(id);
    if (!s) {
      s = { recent: new OutcomeWindow(), streak: 0, coolDownUntil: 0 };
      this.#states.set(id, s);
    }
    return s;
  }

  #prune(s: State, now: number): void {
    s.recent.dropBefore(now - this.#o.windowMs);
  }

  #push(s: State, at: number, ok: boolean): void {
    s.recent.push(at, ok);
    this.#prune(s, at);
  }

  recordSuccess(id: string, sample: { ttftMs?: number; tokens?: number; generationMs?: number } = {}): void {
    const s = this.#state(id);
    const now = this.#o.now();
    this.#push(s, now, true);
    s.streak = 0;
    const a = this.#o.alpha;
    if (sample.ttftMs !== undefined)
      s.ttftMs = s.ttftMs === undefined ? sample.ttftMs : s.ttftMs + a * (sample.ttftMs - s.ttftMs);
    if (
      sample.tokens !== undefined &&
      sample.generationMs !== undefined &&
      sample.generationMs > 0 &&
      sample.tokens > 1
    ) {
      const tps = (sample.tokens * 1000) / sample.generationMs;
      s.tokensPerSecond =
        s.tokensPerSecond === undefined ? tps : s.tokensPerSecond + a * (tps - s.tokensPerSecond);
    }
  }

  recordFailure(id: string, retryAfterMs?: number): void {
    const s = this.#state(id);
    const now = this.#o.now();
    this.#push(s, now, false);
    s.streak++;
    if (retryAfterMs !== undefined) s.coolDownUntil = Math.max(s.coolDownUntil, now + retryAfterMs);
  }

  performance(id: string): EndpointPerformance {
    const s = this.#states.get(id);
    if (!s) return { unhealthy: false };
    const now = this.#o.now();
    this.#prune(s, now);
    const n = s.recent.size;
    const lastFailureRecent = s.recent.lastFailed;
    const unhealthy =
      now < s.coolDownUntil ||
      (lastFailureRecent && s.streak >= this.#o.failureStreak) ||
      (n >= this.#o.minSamples && s.recent.failures / n >= this.#o.failureRatio);
    return { unhealthy, ttftMs: s.ttftMs, tokensPerSecond: s.tokensPerSecond };
  }
}
