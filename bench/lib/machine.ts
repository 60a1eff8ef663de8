import { execFileSync } from "node:child_process";
import { arch, cpus, loadavg, platform, release, totalmem } from "node:os";
import { REPO } from "./systems.js";

/** Where and on what a result was measured: every results file starts with this. */
export function machineInfo() {
  const git = (...args: string[]) => {
    try {
      return execFileSync("git", args, { cwd: REPO, encoding: "utf8" }).trim();
    } catch {
      return "";
    }
  };
  const dirty = git(
    "status",
    "--porcelain",
    "--untracked-files=no",
    "--",
    "src",
    "bin",
    "catalog",
    "policies",
  );
  return {
    date: new Date().toISOString(),
    commit: git("rev-parse", "HEAD") || "unknown",
    /** Tracked runtime files (src, bin, catalog, policies) differed from the commit. */
    dirty: dirty.length > 0,
    node: process.version,
    platform: `${platform()} ${release()} ${arch()}`,
    cpu: cpus()[0]?.model ?? "unknown",
    cores: cpus().length,
    memory_gib: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    loadavg_at_start: loadavg().map((x) => Math.round(x * 100) / 100),
  };
}

export type MachineInfo = ReturnType<typeof machineInfo>;
