import { execFileSync } from "node:child_process";
import { chmodSync, chownSync, existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

/**
 * A private PostgreSQL server for tests that stop and start it (fault injection, replicas),
 * so they never disturb the shared test server other test files use at the same time.
 * Built from the Debian server binaries `scripts/install-postgres.sh` installs; runs as the
 * `postgres` user when the tests run as root (Postgres refuses to run as root).
 *
 * `PgInstance.start()` picks its port below the kernel's ephemeral range: a port inside it
 * (a fixed 55000 + pid once) can be held by any outgoing connection on the machine at that
 * moment, and the server then cannot bind. The port is kept for restarts, since a running
 * app holds the URL.
 */
export class PgInstance {
  readonly dir: string;
  #port = 0;
  readonly #bin: string;

  /** A new cluster on a free port below the ephemeral range, started. */
  static async start(): Promise<PgInstance> {
    const pg = new PgInstance();
    for (let attempt = 1; ; attempt++) {
      pg.#port = await freePortBelowEphemeral();
      try {
        pg.start();
        return pg;
      } catch (e) {
        // Taken between the probe and the bind (another test process): try another port.
        if (attempt >= 5 || !pg.log().includes("could not bind")) {
          pg.destroy();
          throw e;
        }
      }
    }
  }

  private constructor() {
    const versions = execFileSync("ls", ["/usr/lib/postgresql"]).toString().trim().split(/\s+/).sort();
    this.#bin = `/usr/lib/postgresql/${versions.at(-1)}/bin`;
    this.dir = mkdtempSync(join(tmpdir(), "sovr-pg-"));
    chmodSync(this.dir, 0o700);
    if (process.getuid?.() === 0) chownSync(this.dir, uid("postgres"), gid("postgres"));
    this.#run("initdb", ["-D", join(this.dir, "data"), "-U", "sovr", "--auth=trust", "-E", "UTF8"]);
  }

  get port(): number {
    return this.#port;
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

  /** The server's log so far ("" before its first start). */
  log(): string {
    const file = join(this.dir, "log");
    return existsSync(file) ? readFileSync(file, "utf8") : "";
  }

  /** Starts (or restarts) the server on its port; a failure carries the log's last lines. */
  start(): void {
    try {
      this.#pgCtlStart();
    } catch (e) {
      const tail = this.log().trim().split("\n").slice(-8).join("\n");
      throw new Error(`${(e as Error).message.trim()}\nserver log (last lines):\n${tail}`);
    }
  }

  #pgCtlStart(): void {
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

/** A port free on 127.0.0.1 now, between 20000 and the start of the ephemeral range. */
async function freePortBelowEphemeral(): Promise<number> {
  const low = ephemeralLow();
  for (;;) {
    const port = 20_000 + Math.floor(Math.random() * Math.max(1, low - 20_000));
    if (await isFree(port)) return port;
  }
}

function ephemeralLow(): number {
  try {
    const [low] = readFileSync("/proc/sys/net/ipv4/ip_local_port_range", "utf8").trim().split(/\s+/);
    return Math.max(20_001, Number(low));
  } catch {
    return 32_768;
  }
}

function isFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once("error", () => resolve(false));
    server.listen(port, "127.0.0.1", () => server.close(() => resolve(true)));
  });
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
