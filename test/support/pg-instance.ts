import { execFileSync } from "node:child_process";
import { chmodSync, chownSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/**
 * A private PostgreSQL server for tests that stop and start it (fault injection, replicas),
 * so they never disturb the shared test server other test files use at the same time.
 * Built from the Debian server binaries `scripts/install-postgres.sh` installs; runs as the
 * `postgres` user when the tests run as root (Postgres refuses to run as root).
 */
export class PgInstance {
  readonly dir: string;
  readonly port: number;
  readonly #bin: string;

  constructor(port: number) {
    this.port = port;
    const versions = execFileSync("ls", ["/usr/lib/postgresql"]).toString().trim().split(/\s+/).sort();
    this.#bin = `/usr/lib/postgresql/${versions.at(-1)}/bin`;
    this.dir = mkdtempSync(join(tmpdir(), "sovr-pg-"));
    chmodSync(this.dir, 0o700);
    if (process.getuid?.() === 0) chownSync(this.dir, uid("postgres"), gid("postgres"));
    this.#run("initdb", ["-D", join(this.dir, "data"), "-U", "sovr", "--auth=trust", "-E", "UTF8"]);
  }

  get url(): string {
    return `postgres://sovr@127.0.0.1:${this.port}/postgres`;
  }

  #run(cmd: string, args: string[]): void {
    const full = join(this.#bin, cmd);
    if (process.getuid?.() === 0) {
      execFileSync("su", ["postgres", "-s", "/bin/sh", "-c", [full, ...args].map(quote).join(" ")], {
        stdio: "pipe",
      });
    } else {
      execFileSync(full, args, { stdio: "pipe" });
    }
  }

  start(): void {
    this.#run("pg_ctl", [
      "-D",
      join(this.dir, "data"),
      "-l",
      join(this.dir, "log"),
      "-w",
      "-o",
      `-p ${this.port} -k ${this.dir} -c listen_addresses=127.0.0.1 -c fsync=on`,
      "start",
    ]);
  }

  /** Fast shutdown: open connections are cut, as when the database host goes away. */
  stop(): void {
    this.#run("pg_ctl", ["-D", join(this.dir, "data"), "-m", "fast", "-w", "stop"]);
  }

  destroy(): void {
    try {
      this.stop();
    } catch {
      // already stopped
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}

function quote(s: string): string {
  return `'${s.replaceAll("'", "'\\''")}'`;
}

function uid(user: string): number {
  return Number(execFileSync("id", ["-u", user]).toString().trim());
}

function gid(user: string): number {
  return Number(execFileSync("id", ["-g", user]).toString().trim());
}
