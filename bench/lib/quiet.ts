import { cpuSeconds, machineBusySeconds, processTree } from "./procs.js";

/**
 * The gate before every measured segment, in every mode (issue 19 part 6): the machine must be
 * quiet before a target is measured. Over a short sample it reads the whole machine's busy time
 * and each system's own process tree. When the machine is busy:
 * - a system of ours still burning CPU between segments has a **backlog** (an overloaded peer
 *   still working off requests its clients gave up on): the gate waits for it to drain, and when
 *   it does not within `drainMs`, stops it, so its backlog cannot bleed into the next target's
 *   segment (the run then reports that system as gone, with the reason);
 * - otherwise the load is someone else's: the gate waits up to `maxWaitMs`, then lets the segment
 *   run and says it started busy (the matrix re-measures or marks it).
 */

export interface QuietOptions {
  /** Cores the machine may use (everything but the load generator) for a segment to start. */
  cores: number;
  /** Longest wait for other people's load to go, ms. */
  maxWaitMs: number;
  /** Longest wait for one of our systems to drain its own backlog before it is stopped, ms. */
  drainMs: number;
  /** Length of one sample, ms. */
  sampleMs: number;
  /** Own use (cores) above which an idle system counts as working off a backlog. */
  backlogCores: number;
}

export interface QuietCheck {
  /** Cores busy on the machine (without the load generator) in the last sample; null off Linux. */
  busy_cores: number | null;
  quiet: boolean;
  waited_ms: number;
  /** A system stopped because its backlog did not drain, with the reason. */
  stopped?: { system: string; reason: string };
}

export const QUIET_DEFAULTS = { cores: 0.5, sampleMs: 500, backlogCores: 0.25 };

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Samples until the machine is quiet (or the waits run out). `systems`: the live systems' main
 * pids by name; `stop` ends one (its backlog did not drain); the simulator is never stopped.
 */
export async function settle(
  o: QuietOptions,
  systems: Record<string, number>,
  stop: (system: string, reason: string) => Promise<void>,
  log: (line: string) => void,
): Promise<QuietCheck> {
  const t0 = performance.now();
  const trees = Object.fromEntries(
    await Promise.all(Object.entries(systems).map(async ([n, pid]) => [n, await processTree(pid)] as const)),
  );
  let drainingSince: number | undefined;
  let logged = "";
  for (;;) {
    const s = await sample(o.sampleMs, trees);
    const waited = Math.round(performance.now() - t0);
    if (s.busy === null) return { busy_cores: null, quiet: true, waited_ms: waited };
    if (s.busy <= o.cores) return { busy_cores: round(s.busy), quiet: true, waited_ms: waited };
    const [top, topCores] = Object.entries(s.own)
      .filter(([n]) => n !== "simulator")
      .sort((x, y) => y[1] - x[1])[0] ?? ["", 0];
    if (topCores > o.backlogCores) {
      drainingSince ??= performance.now();
      const draining = performance.now() - drainingSince;
      if (draining >= o.drainMs) {
        const reason = `still busy (${round(topCores)} cores) ${Math.round(draining / 1000)} s after its segment: its backlog did not drain, so the bench stopped it`;
        log(`  ${top}: ${reason}`);
        await stop(top, reason);
        delete trees[top];
        drainingSince = undefined;
        return {
          busy_cores: round(s.busy),
          quiet: false,
          waited_ms: Math.round(performance.now() - t0),
          stopped: { system: top, reason },
        };
      }
      if (logged !== top) log(`  waiting for ${top} to drain its backlog (${round(topCores)} cores busy)`);
      logged = top;
    } else {
      drainingSince = undefined;
      if (waited >= o.maxWaitMs) return { busy_cores: round(s.busy), quiet: false, waited_ms: waited };
      if (logged !== "others") log(`  machine busy (${round(s.busy)} cores, not ours); waiting to measure`);
      logged = "others";
    }
    await sleep(500);
  }
}

/** Machine busy cores (less this process) and each system's own cores over `ms`. */
async function sample(ms: number, trees: Record<string, number[]>) {
  const names = Object.keys(trees);
  const own0 = await Promise.all(names.map((n) => cpuSeconds(trees[n]!)));
  const all0 = await machineBusySeconds();
  const me0 = process.cpuUsage();
  const w0 = performance.now();
  await sleep(ms);
  const me = process.cpuUsage(me0);
  const all1 = await machineBusySeconds();
  const own1 = await Promise.all(names.map((n) => cpuSeconds(trees[n]!)));
  const wall = (performance.now() - w0) / 1000;
  const own: Record<string, number> = {};
  names.forEach((n, i) => {
    const a = own0[i];
    const b = own1[i];
    own[n] = a !== null && a !== undefined && b !== null && b !== undefined ? (b - a) / wall : 0;
  });
  const busy =
    all0 === null || all1 === null ? null : Math.max(0, (all1 - all0 - (me.user + me.system) / 1e6) / wall);
  return { busy, own };
}

const round = (x: number) => Math.round(x * 100) / 100;
