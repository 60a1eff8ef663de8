/**
 * The `sovr` command loads what the command given runs (src/cli/command-groups.ts): the real
 * `bin/sovr.js` in a child process, with a module hook recording every module it resolves. The
 * top-level help, the version, a client command's help and the key commands' help load no part
 * of the server (the keys' database path loads it when it runs: keys-local.ts), while
 * every group still lists all its subcommands, however its help is asked for.
 */
import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { REPO } from "../support/app.js";

let dir: string;
let runs = 0;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "sovr-cli-loading-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Runs `sovr args…`; its output and the project's own modules it loaded (src/… or dist/…). */
async function sovr(args: string[]): Promise<{ code: number; stdout: string; modules: string[] }> {
  const file = join(dir, `imports-${runs++}.txt`);
  const { code, stdout } = await new Promise<{ code: number; stdout: string }>((resolve) => {
    execFile(
      process.execPath,
      ["--import", join(REPO, "test/support/record-imports.mjs"), join(REPO, "bin/sovr.js"), ...args],
      { cwd: REPO, env: { ...process.env, SOVR_TEST_IMPORTS_FILE: file }, timeout: 30_000 },
      (err, out) => resolve({ code: err ? Number(err.code ?? 1) : 0, stdout: out }),
    );
  });
  const urls = (await readFile(file, "utf8")).split("\n");
  const modules = urls
    .map((u) => /\/(?:src|dist)\/([a-z-]+\/[^?]*)$/.exec(u.startsWith(`file://${REPO}`) ? u : "")?.[1])
    .filter((m): m is string => m !== undefined);
  return { code, stdout, modules };
}

/** The server's own folders: a command that only prints help or calls a server needs none. */
const SERVER = /^(app|api|auth|audit|db|routing|upstream|policy|catalog|budget|telemetry)\//;

describe("what a sovr command loads", () => {
  it("--help lists every command and loads nothing of the server; nor do --version, usage's help and keys' help", async () => {
    const help = await sovr(["--help"]);
    expect(help.code).toBe(0);
    for (const command of ["serve", "catalog", "policy", "keys", "budgets", "audit", "models", "usage"])
      expect(help.stdout).toMatch(new RegExp(`^  ${command}\\b`, "m"));
    // It did record: the command's own entry point is there.
    expect(help.modules.some((m) => /^cli\/main\.[jt]s$/.test(m))).toBe(true);
    expect(help.modules.filter((m) => SERVER.test(m))).toEqual([]);
    for (const args of [["--version"], ["usage", "--help"], ["keys", "--help"], ["help", "keys"]]) {
      const r = await sovr(args);
      expect(r.code).toBe(0);
      expect(r.modules.filter((m) => SERVER.test(m))).toEqual([]);
    }
  });

  it("a group lists all its subcommands, by `help <group>` as by `<group> --help`", async () => {
    const groups: Record<string, string[]> = {
      keys: ["create", "revoke", "list", "byok", "generate"],
      policy: ["eval", "impact", "build", "check", "test"],
      catalog: ["validate", "list", "apply"],
      budgets: ["set", "list", "delete"],
      models: ["pull", "add", "list", "remove"],
      audit: ["query", "export", "verify", "replay", "tail", "changes"],
    };
    for (const [group, subcommands] of Object.entries(groups)) {
      for (const args of [
        ["help", group],
        [group, "--help"],
      ]) {
        const r = await sovr(args);
        expect(r.code, args.join(" ")).toBe(0);
        for (const sub of subcommands)
          expect(r.stdout, `${args.join(" ")} lists ${sub}`).toMatch(new RegExp(`^  ${sub}\\b`, "m"));
      }
    }
  });

  it("help serve and serve --help list the configuration; only serve's help loads it", async () => {
    for (const args of [
      ["help", "serve"],
      ["serve", "--help"],
    ]) {
      const r = await sovr(args);
      expect(r.code).toBe(0);
      expect(r.stdout).toContain("SOVR_GRPC_PORT");
      expect(r.modules.some((m) => m.startsWith("config/"))).toBe(true);
    }
    expect((await sovr(["--help"])).modules.some((m) => m.startsWith("config/"))).toBe(false);
  });
});
