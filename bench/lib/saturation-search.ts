/**
 * The search for a target's maximum sustainable rate (bench/lib/matrix.ts measures the steps):
 * from the fixed rates' results, the highest rate at which a step passes (p99 < 50 ms, no
 * errors). Every way the search can end between a passing and a failing rate ends with the same
 * bisection, so each target's maximum is resolved alike — a gateway that fails between two fixed
 * rates and one that fails a step above them are both found to within ~6 % of the gap, not one
 * to a bisection and the other to the ×factor step (750 against 1,150 req/s).
 *
 * Every rate the search tries is decided by a majority of `votes` steps, taken apart in time (a
 * pause between them): one step of a few seconds near the 50 ms line is decided by whether a
 * collection pause or someone else's burst fell inside it, and a maximum found that way moved
 * by more between two runs an hour apart (660 against 1,100 req/s) than the changes it was meant
 * to measure. A rate stops being tried once the majority is settled (two steps agreeing of three).
 */

/** One measured step at `rate`: whether it passed, and the load generator's send lag p99 (ms). */
export type Step = (rate: number) => Promise<{ passed: boolean; lagP99: number }>;

/** A step whose load generator's send lag p99 is above this (ms) measured the generator too. */
const LATE_MS = 10;

export interface SearchOptions {
  /** Upwards from the highest passing fixed rate: ×factor a step, rounded to 50. */
  factor: number;
  cap: number;
  /** Why the system can no longer be measured (it exited), or undefined while it runs. */
  gone: () => string | undefined;
  /** Whether another step would overrun the time budget. */
  outOfTime: () => boolean;
  /** Waits after a step; `long` after one that may have left a queue (a failed or bisecting step). */
  pause: (long: boolean) => Promise<void>;
  /** Bisection steps between a pass and a failure (default 3). */
  bisections?: number;
  /** Steps whose majority decides a rate (odd; default 3). */
  votes?: number;
}

export interface SearchResult {
  /** The highest rate that passed, or null when none did. */
  max: number | null;
  /** Why the search stopped. */
  stopped: string;
}

/**
 * The search from the fixed rates: `passing` (rates that passed) and `failing` (rates that did
 * not), `lowest` the lowest fixed rate.
 */
export async function searchMaxRate(
  step: Step,
  passing: readonly number[],
  failing: readonly number[],
  lowest: number,
  o: SearchOptions,
): Promise<SearchResult> {
  if (passing.length === 0) return halve(step, lowest, o);
  const best = Math.max(...passing);
  const above = failing.filter((r) => r > best);
  if (above.length > 0) {
    // A fixed rate's verdict is the p99 of its rounds pooled, and one that failed by a hair
    // (50.7 ms) would cap the search below it: the failure nearest the passes is decided
    // again by a vote of the search's own steps before it bounds anything.
    const edge = Math.min(...above);
    const why = cannotStep(o);
    if (why) return { max: best, stopped: why };
    const again = await decide(step, edge, o);
    await o.pause(!again.passed);
    if (!again.passed || again.lagP99 > LATE_MS) {
      const b = await bisect(step, best, edge, o);
      return {
        max: b.lo,
        stopped:
          b.late ??
          `bisection between the fixed rates: ${b.lo} passed, ${b.hi} req/s failed (its fixed cell and a vote)`,
      };
    }
    return climb(step, edge, o, `${edge} req/s failed its fixed cell but passed a vote; `);
  }
  return climb(step, best, o, "");
}

/** Up from the passing `from` by ×factor until a rate fails, then bisected; `note` opens `stopped`. */
async function climb(step: Step, from: number, o: SearchOptions, note: string): Promise<SearchResult> {
  let rate = from;
  for (;;) {
    const previous = rate;
    rate = Math.round((rate * o.factor) / 50) * 50;
    if (rate > o.cap) return { max: previous, stopped: `${note}reached the cap of ${o.cap} req/s` };
    const why = cannotStep(o);
    if (why) return { max: previous, stopped: `${note}${why}` };
    const { passed, lagP99 } = await decide(step, rate, o);
    await o.pause(!passed);
    if (lagP99 > LATE_MS) {
      // Every step at this rate went out late: they measured the load generator as much as the target.
      const max = passed ? rate : previous;
      return { max, stopped: `${note}${lateLoad(rate, lagP99, max)}` };
    }
    if (!passed) {
      const gone = o.gone();
      if (gone) return { max: previous, stopped: gone };
      const b = await bisect(step, previous, rate, o);
      return {
        max: b.lo,
        stopped: `${note}p99 ≥ 50 ms or errors at ${rate} req/s; ${b.late ?? `bisection: ${b.lo} passed, ${b.hi} req/s failed`}`,
      };
    }
  }
}

/**
 * Between a passing `lo` and a failing `hi`: up to `o.bisections` steps (rates rounded to 10).
 * A rate whose every step went out late ({@link decide}) ends the bisection as it ends the climb:
 * a failure there says nothing of the target, and a pass is only a lower bound (`late` says
 * which).
 */
async function bisect(
  step: Step,
  lo: number,
  hi: number,
  o: SearchOptions,
): Promise<{ lo: number; hi: number; late?: string }> {
  for (let k = 0; k < (o.bisections ?? 3) && hi - lo > 25; k++) {
    if (cannotStep(o)) break;
    const mid = Math.round((lo + hi) / 2 / 10) * 10;
    const { passed, lagP99 } = await decide(step, mid, o);
    await o.pause(true); // let a queue that built up drain before the next step
    if (passed) lo = mid;
    if (lagP99 > LATE_MS) return { lo, hi, late: `bisection: ${lateLoad(mid, lagP99, lo)}` };
    if (!passed) hi = mid;
  }
  return { lo, hi };
}

function lateLoad(rate: number, lagP99: number, max: number): string {
  return `load generator could not keep up at ${rate} req/s (send lag p99 ${lagP99} ms): the target's limit is at least ${max} req/s`;
}

/** Nothing passed: halve the rate until something does (how far below the lowest rate it sits). */
async function halve(step: Step, lowest: number, o: SearchOptions): Promise<SearchResult> {
  let down = lowest;
  while (down > 10 && !cannotStep(o)) {
    down = Math.round(down / 2);
    const { passed } = await decide(step, down, o);
    await o.pause(false);
    if (passed) return { max: down, stopped: `no fixed rate passed; halving: ${down} req/s passed` };
  }
  return { max: null, stopped: `no fixed rate passed (lowest ${lowest} req/s)` };
}

/**
 * A rate's verdict: up to `o.votes` steps at `rate`, until a majority of them agrees (or the time
 * budget or the system ends the vote: then the steps taken decide, a tie failing).
 *
 * A step whose load generator sent late measured the generator as much as the target, so it
 * does not vote while the rate has steps that went out on time: those decide, and a target that
 * overloads the shared cores (which makes the generator late in some of its steps) is still
 * decided by its own latency. Only when every step taken was late is the verdict theirs, with
 * their lag: the search then ends with the target's limit as a lower bound.
 */
async function decide(
  step: Step,
  rate: number,
  o: SearchOptions,
): Promise<{ passed: boolean; lagP99: number }> {
  const votes = o.votes ?? 3;
  const majority = Math.floor(votes / 2) + 1;
  const onTime = { passes: 0, failures: 0 };
  const late = { passes: 0, failures: 0, lagP99: 0 };
  for (let taken = 1; ; taken++) {
    const { passed, lagP99 } = await step(rate);
    const tally = lagP99 > LATE_MS ? late : onTime;
    if (passed) tally.passes++;
    else tally.failures++;
    if (tally === late) late.lagP99 = Math.max(late.lagP99, lagP99);
    if (onTime.passes >= majority || onTime.failures >= majority)
      return { passed: onTime.passes >= majority, lagP99: 0 };
    if (taken >= votes || cannotStep(o)) {
      if (onTime.passes + onTime.failures > 0) return { passed: onTime.passes > onTime.failures, lagP99: 0 };
      return { passed: late.passes > late.failures, lagP99: late.lagP99 };
    }
    await o.pause(!passed);
  }
}

function cannotStep(o: SearchOptions): string | undefined {
  return o.gone() ?? (o.outOfTime() ? "time budget" : undefined);
}
