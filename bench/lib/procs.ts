import { type ChildProcess, spawn } from "node:child_process";
import { createWriteStream } from "node:fs";
import { readdir, readFile } from "node:fs/promises";
import { createServer } from "node:net";

/**
 * Child processes of the benchmark (simulator, sovr, peers) and what /proc says about them:
 * CPU seconds (utime + stime of the process and all its descendants) and resident memory.
 * Linux only; elsewhere the figures are reported as null.
 */

const CLK_TCK = 100; // USER_HZ: fixed at 100 for /proc/<pid>/stat on every Linux ABI

export interface Managed {
  readonly name: string;
  readonly proc: ChildProcess;
  readonly pid: number;
  readonly logFile: string;
  /** Resolves with the exit code (or signal) once the process is gone. */
  readonly exited: Promise<string>;
  stop(signal?: NodeJS.Signals, graceMs?: number): Promise<string>;
}

/**
 * Children still running: killed when the bench exits for any reason (an error included). Each
 * child leads its own process group (spawned detached), and the whole group is signalled: a
 * peer's worker processes (LiteLLM's uvicorn workers) must not outlive it and load the machine.
 */
const live = new Set<ChildProcess>();
const killGroup = (p: ChildProcess, signal: NodeJS.Signals) => {
  try {
    if (p.pid !== undefined) process.kill(-p.pid, signal);
  } catch {
    p.kill(signal);
  }
};
process.on("exit", () => {
  for (const p of live) killGroup(p, "SIGKILL");
});
// A signal would end the bench without the "exit" event: turn it into an orderly exit.
for (const sig of ["SIGINT", "SIGTERM"] as const) process.once(sig, () => process.exit(130));

export function startProcess(
  name: string,
  cmd: string,
  args: string[],
  opts: { env?: Record<string, string | undefined>; cwd?: string; logFile: string },
): Managed {
  const log = createWriteStream(opts.logFile);
  // The bench's own environment, overridden by `opts.env`; a key set to undefined there is
  // removed (e.g. DATABASE_URL for a target that must run on embedded PGlite).
  const env = { ...process.env, ...opts.env } as NodeJS.ProcessEnv;
  for (const [k, v] of Object.entries(opts.env ?? {})) if (v === undefined) delete env[k];
  const proc = spawn(cmd, args, {
    cwd: opts.cwd,
    env,
    stdio: ["ignore", "pipe", "pipe"],
    detached: true,
  });
  proc.stdout?.pipe(log);
  proc.stderr?.pipe(log);
  live.add(proc);
  const exited = new Promise<string>((resolve) => {
    proc.on("exit", (code, signal) => {
      live.delete(proc);
      resolve(signal ?? String(code));
    });
    proc.on("error", (err) => resolve(`spawn error: ${err.message}`));
  });
  if (proc.pid === undefined) throw new Error(`${name}: could not start ${cmd}`);
  const pid = proc.pid;
  return {
    name,
    proc,
    pid,
    logFile: opts.logFile,
    exited,
    async stop(signal = "SIGTERM", graceMs = 10_000) {
      if (proc.exitCode !== null || proc.signalCode !== null) {
        killGroup(proc, "SIGKILL"); // leftovers of its group, if any
        return exited;
      }
      proc.kill(signal);
      const timer = setTimeout(() => killGroup(proc, "SIGKILL"), graceMs);
      const r = await exited;
      clearTimeout(timer);
      killGroup(proc, "SIGKILL"); // workers that outlived their parent
      return r;
    },
  };
}

/** A free TCP port on 127.0.0.1 (bound and released; fine for a benchmark). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

/** Polls `probe` until it returns true, or throws after `timeoutMs` (or when the process dies). */
export async function waitFor(
  what: string,
  probe: () => Promise<boolean>,
  timeoutMs: number,
  managed?: Managed,
): Promise<void> {
  const until = Date.now() + timeoutMs;
  let died: string | undefined;
  void managed?.exited.then((r) => {
    died = r;
  });
  while (Date.now() < until) {
    if (died !== undefined) throw new Error(`${what}: process exited (${died}) before it was ready`);
    if (await probe().catch(() => false)) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`${what}: not ready after ${timeoutMs} ms`);
}

async function statOf(pid: number): Promise<{ ppid: number; ticks: number } | undefined> {
  try {
    const s = await readFile(`/proc/${pid}/stat`, "utf8");
    // comm (field 2) may contain spaces and parentheses: split after the last ')'.
    const f = s.slice(s.lastIndexOf(")") + 2).split(" ");
    // f[0] is field 3 (state): ppid = field 4, utime = 14, stime = 15.
    return { ppid: Number(f[1]), ticks: Number(f[11]) + Number(f[12]) };
  } catch {
    return undefined;
  }
}

/** The pid and all its live descendants. */
export async function processTree(root: number): Promise<number[]> {
  let entries: string[];
  try {
    entries = (await readdir("/proc")).filter((e) => /^\d+$/.test(e));
  } catch {
    return [root];
  }
  const children = new Map<number, number[]>();
  await Promise.all(
    entries.map(async (e) => {
      const st = await statOf(Number(e));
      if (!st) return;
      const list = children.get(st.ppid) ?? [];
      list.push(Number(e));
      children.set(st.ppid, list);
    }),
  );
  const out: number[] = [];
  const stack = [root];
  while (stack.length > 0) {
    const p = stack.pop()!;
    out.push(p);
    stack.push(...(children.get(p) ?? []));
  }
  return out;
}

/** CPU seconds (user + system) used so far by the given processes; null off Linux. */
export async function cpuSeconds(pids: readonly number[]): Promise<number | null> {
  let ticks = 0;
  let any = false;
  for (const pid of pids) {
    const st = await statOf(pid);
    if (st) {
      ticks += st.ticks;
      any = true;
    }
  }
  return any ? ticks / CLK_TCK : null;
}

async function statusKb(pid: number, field: "VmRSS" | "VmHWM"): Promise<number | undefined> {
  try {
    const s = await readFile(`/proc/${pid}/status`, "utf8");
    const m = new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(s);
    return m ? Number(m[1]) : undefined;
  } catch {
    return undefined;
  }
}

/** Sum over the processes of VmRSS (now) or VmHWM (peak so far), in MiB; null off Linux. */
export async function memoryMiB(pids: readonly number[], field: "VmRSS" | "VmHWM"): Promise<number | null> {
  let kb = 0;
  let any = false;
  for (const pid of pids) {
    const v = await statusKb(pid, field);
    if (v !== undefined) {
      kb += v;
      any = true;
    }
  }
  return any ? Math.round((kb / 1024) * 10) / 10 : null;
}

/** CPU seconds all processes on the machine have used (first line of /proc/stat); null off Linux. */
export async function machineBusySeconds(): Promise<number | null> {
  try {
    const line = (await readFile("/proc/stat", "utf8")).split("\n", 1)[0]!;
    // cpu user nice system idle iowait irq softirq steal …
    const f = line.trim().split(/\s+/).slice(1).map(Number);
    const busy = f[0]! + f[1]! + f[2]! + (f[5] ?? 0) + (f[6] ?? 0) + (f[7] ?? 0);
    return busy / CLK_TCK;
  } catch {
    return null;
  }
}
