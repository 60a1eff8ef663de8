import { type ChildProcess, spawn } from "node:child_process";
import { join } from "node:path";
import { REPO } from "./app.js";

export interface ServeProcess {
  readonly proc: ChildProcess;
  /** Everything written to stdout and stderr so far. */
  out(): string;
  /** Resolves with the exit code (null when killed by a signal). */
  readonly exited: Promise<number | null>;
  /** Set once "sovr serving" was logged. */
  httpUrl: string;
  grpcAddress: string;
}

/**
 * The real `sovr serve` binary, as a user runs it, on ports the kernel picks (read back from
 * its "sovr serving" log line). PGlite unless `env` sets DATABASE_URL.
 */
export function spawnServe(env: Record<string, string>): ServeProcess {
  const proc = spawn(process.execPath, [join(REPO, "bin/sovr.js"), "serve"], {
    cwd: REPO,
    env: {
      ...process.env,
      DATABASE_URL: "",
      SOVR_LOG_LEVEL: "info",
      SOVR_GRPC_PORT: "0",
      SOVR_HTTP_PORT: "0",
      SOVR_SIMULATOR_PORT: "0",
      SOVR_CATALOG_WATCH: "off",
      // No probing of local runtimes unless asked (see test/support/app.ts).
      SOVR_LOCAL_PROBE_MS: "0",
      ...env,
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  proc.stdout!.on("data", (d) => (out += d));
  proc.stderr!.on("data", (d) => (out += d));
  const exited = new Promise<number | null>((r) => proc.on("exit", (code) => r(code)));
  return { proc, out: () => out, exited, httpUrl: "", grpcAddress: "" };
}

/** Waits for "sovr serving" (or the process's exit, which throws with its output). */
export async function untilServing(s: ServeProcess, ms = 60_000): Promise<ServeProcess> {
  const deadline = Date.now() + ms;
  let exited = false;
  void s.exited.then(() => (exited = true));
  for (;;) {
    const line = s
      .out()
      .split("\n")
      .find((l) => l.includes('"sovr serving"'));
    if (line) {
      const { grpcPort, httpPort } = JSON.parse(line) as { grpcPort: number; httpPort: number };
      s.httpUrl = `http://127.0.0.1:${httpPort}`;
      s.grpcAddress = `127.0.0.1:${grpcPort}`;
      return s;
    }
    if (exited) throw new Error(`sovr serve exited before serving:\n${s.out()}`);
    if (Date.now() > deadline) throw new Error(`sovr serve did not start:\n${s.out()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
