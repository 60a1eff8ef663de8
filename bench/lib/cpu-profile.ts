import { readFile } from "node:fs/promises";

/**
 * Summarises a V8 `.cpuprofile` (what `node --cpu-prof` writes): self time per function and per
 * module (package, or file of this repository), with idle time and GC split out.
 */

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number; columnNumber: number };
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

export interface ProfileRow {
  name: string;
  where: string;
  self_ms: number;
  /** Share of the busy (non-idle) time, %. */
  pct: number;
}

export interface ProfileSummary {
  duration_s: number;
  busy_ms: number;
  idle_pct: number;
  gc_pct: number;
  program_pct: number;
  top_functions: ProfileRow[];
  top_modules: ProfileRow[];
  /** Self time in this repository's `src/` (everything else is libraries and Node itself), %. */
  own_code_pct: number;
  /** This repository's functions by total time (self + everything they call), % of busy time. */
  top_inclusive: ProfileRow[];
}

function where(url: string, repo: string): string {
  if (!url) return "(native)";
  const u = url.replace(/^file:\/\//, "");
  const nm = u.lastIndexOf("/node_modules/");
  if (nm >= 0) {
    const rest = u.slice(nm + "/node_modules/".length).split("/");
    return rest[0]!.startsWith("@") ? `${rest[0]}/${rest[1]}` : rest[0]!;
  }
  if (u.startsWith(`${repo}/`)) return u.slice(repo.length + 1);
  return u;
}

/**
 * `window` (µs on the system monotonic clock, which V8's profile timestamps and
 * `process.hrtime` share on Linux) restricts the summary to the samples taken under load,
 * leaving out start-up (module loading, migrations) and shutdown.
 */
export async function summariseProfile(
  file: string,
  repo: string,
  top = 25,
  window?: { fromUs: number; toUs: number },
): Promise<ProfileSummary & { window: string }> {
  const p = JSON.parse(await readFile(file, "utf8")) as CpuProfile;
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const selfUs = new Map<number, number>();
  const inWindow = window !== undefined && window.fromUs < p.endTime && window.toUs > p.startTime;
  let t = p.startTime;
  let first = Infinity;
  let last = 0;
  for (let i = 0; i < p.samples.length; i++) {
    t += p.timeDeltas[i] ?? 0;
    if (inWindow && (t < window.fromUs || t > window.toUs)) continue;
    first = Math.min(first, t);
    last = Math.max(last, t);
    const dt = p.timeDeltas[i + 1] ?? 0;
    selfUs.set(p.samples[i]!, (selfUs.get(p.samples[i]!) ?? 0) + dt);
  }
  let total = 0;
  let idle = 0;
  let gc = 0;
  let program = 0;
  const fns = new Map<string, { name: string; where: string; us: number }>();
  const mods = new Map<string, number>();
  for (const [id, us] of selfUs) {
    const n = byId.get(id)!;
    const { functionName, url, lineNumber } = n.callFrame;
    total += us;
    if (functionName === "(idle)") {
      idle += us;
      continue;
    }
    if (functionName === "(garbage collector)") gc += us;
    if (functionName === "(program)") program += us;
    const w = where(url, repo);
    const key = `${functionName}|${url}|${lineNumber}`;
    const f = fns.get(key) ?? {
      name: functionName || "(anonymous)",
      where: url ? `${w}:${lineNumber + 1}` : w,
      us: 0,
    };
    f.us += us;
    fns.set(key, f);
    const m = url ? w.replace(/:\d+$/, "") : functionName.startsWith("(") ? functionName : "(native)";
    mods.set(m, (mods.get(m) ?? 0) + us);
  }
  // Inclusive time of our own functions: each sample counts once for every distinct src/ frame on its stack.
  const parent = new Map<number, number>();
  for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const incl = new Map<string, { name: string; where: string; us: number }>();
  for (const [id, us] of selfUs) {
    if (byId.get(id)!.callFrame.functionName === "(idle)") continue;
    const seen = new Set<string>();
    for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
      const { functionName, url, lineNumber, columnNumber } = byId.get(cur)!.callFrame;
      const w = where(url, repo);
      if (!w.startsWith("src/")) continue;
      const key = `${functionName}|${url}|${lineNumber}|${columnNumber}`;
      if (seen.has(key)) continue;
      seen.add(key);
      const e = incl.get(key) ?? { name: functionName || "(anonymous)", where: w, us: 0 };
      e.us += us;
      incl.set(key, e);
    }
  }
  const busy = total - idle;
  const pct = (us: number) => Math.round((us / Math.max(1, busy)) * 1000) / 10;
  const ms = (us: number) => Math.round(us / 100) / 10;
  const own = [...mods.entries()].filter(([m]) => m.startsWith("src/")).reduce((a, [, v]) => a + v, 0);
  return {
    window: inWindow ? "samples taken under load only" : "whole process lifetime (start-up included)",
    duration_s: Math.round((last - first) / 1e4) / 100,
    busy_ms: ms(busy),
    idle_pct: Math.round((idle / Math.max(1, total)) * 1000) / 10,
    gc_pct: pct(gc),
    program_pct: pct(program),
    top_functions: [...fns.values()]
      .sort((a, b) => b.us - a.us)
      .slice(0, top)
      .map((f) => ({ name: f.name, where: f.where, self_ms: ms(f.us), pct: pct(f.us) })),
    top_modules: [...mods.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([m, us]) => ({ name: m, where: m, self_ms: ms(us), pct: pct(us) })),
    own_code_pct: pct(own),
    top_inclusive: [...incl.values()]
      .sort((a, b) => b.us - a.us)
      .slice(0, top)
      .map((f) => ({ name: f.name, where: f.where, self_ms: ms(f.us), pct: pct(f.us) })),
  };
}
