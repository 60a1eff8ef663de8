import { spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { queryAdminRecords } from "../../src/audit/admin-query.js";
import { ByokStore, MasterKey } from "../../src/auth/byok.js";
import { openDatabase } from "../../src/db/index.js";
import { REPO } from "../support/app.js";
import { seedEmbeddedDatabase } from "../support/pglite-template.js";
import { startRoutingApp } from "../support/routing-app.js";

function sovr(
  args: string[],
  env: Record<string, string>,
  stdin: string,
): Promise<{ code: number | null; out: string }> {
  const proc = spawn(process.execPath, [join(REPO, "bin/sovr.js"), ...args], {
    cwd: REPO,
    env: { ...process.env, DATABASE_URL: "", SOVR_LOG_LEVEL: "silent", ...env },
    stdio: ["pipe", "pipe", "pipe"],
  });
  let out = "";
  proc.stdout.on("data", (d) => (out += d));
  proc.stderr.on("data", (d) => (out += d));
  proc.stdin.end(stdin);
  return new Promise((r) => proc.on("exit", (code) => r({ code, out })));
}

const KEY = "sk-tenant-cli-8d2a";

describe("sovr keys byok", () => {
  const master = MasterKey.generate();
  const dirs: string[] = [];
  afterAll(async () => {
    for (const d of dirs) await rm(d, { recursive: true, force: true });
  });

  it("with the server stopped: writes the encrypted key directly; list never shows it", async () => {
    const dataDir = await mkdtemp(join(tmpdir(), "sovr-byok-cli-"));
    await seedEmbeddedDatabase(dataDir);
    dirs.push(dataDir);
    const env = { SOVR_DATA_DIR: dataDir, SOVR_MASTER_KEY: master };
    const set = await sovr(
      ["keys", "byok", "set", "--tenant", "acme", "--provider", "sim-anthropic", "--always"],
      env,
      `${KEY}\n`,
    );
    expect(set.code, set.out).toBe(0);
    const approve = await sovr(
      [
        "keys",
        "byok",
        "approve",
        "--tenant",
        "acme",
        "--provider",
        "sim-anthropic",
        "--origin",
        "HTTP://Proxy.Example/v1",
      ],
      env,
      "",
    );
    expect(approve.code, approve.out).toBe(0);
    expect(approve.out).toContain("approved origins: http://proxy.example:80");
    const list = await sovr(["keys", "byok", "list"], env, "");
    expect(list.out).toMatch(/acme\tsim-anthropic\talways\t\S+\tapproved=http:\/\/proxy\.example:80/);
    expect(set.out + list.out).not.toContain(KEY);
    const h = await openDatabase({ dataDir });
    try {
      const keys = await new ByokStore(h.db, MasterKey.parse(master)).keysFor("acme");
      // sim-anthropic is not in the shipped catalog: only the explicitly approved origin.
      expect(keys.get("sim-anthropic")).toEqual({
        apiKey: KEY,
        always: true,
        origins: new Set(["http://proxy.example:80"]),
      });
      // Each change is an admin record by the local operator, in acme's sequence, newest first.
      const trail = (await queryAdminRecords(h.db, { tenants: ["acme"] }, 10)).entries.map((e) => e.record);
      expect(trail.map((r) => [r.action, r.caller.kind, r.target.provider])).toEqual([
        ["byok.approve_origins", "local", "sim-anthropic"],
        ["byok.set", "local", "sim-anthropic"],
      ]);
      expect(JSON.stringify(trail)).not.toContain(KEY);
    } finally {
      await h.close();
    }
    // Without a master key nothing can be stored.
    const h2 = await openDatabase({ dataDir });
    try {
      await expect(new ByokStore(h2.db, undefined).set("acme", "x", KEY, false)).rejects.toThrow(
        /SOVR_MASTER_KEY/,
      );
    } finally {
      await h2.close();
    }
  }, 90_000);

  it("as a client of the running server (SOVR_URL, admin SOVR_KEY)", async () => {
    const t = await startRoutingApp({ auth: true, env: { SOVR_MASTER_KEY: master } });
    try {
      const env = { SOVR_URL: t.app.httpUrl, SOVR_KEY: t.devKey! };
      const set = await sovr(
        ["keys", "byok", "set", "--tenant", "default", "--provider", "sim-anthropic"],
        env,
        KEY,
      );
      expect(set.code, set.out).toBe(0);
      const origin = new URL(t.simulator.url).origin;
      expect((await t.app.byok.keysFor("default")).get("sim-anthropic")).toEqual({
        apiKey: KEY,
        always: false,
        origins: new Set([origin]),
      });
      expect(set.out).toContain(`approved origins: ${origin}`);
      const list = await sovr(["keys", "byok", "list"], env, "");
      expect(list.out).toMatch(/default\tsim-anthropic\tfallback-to-shared/);
      const approve = await sovr(
        [
          "keys",
          "byok",
          "approve",
          "--tenant",
          "default",
          "--provider",
          "sim-anthropic",
          "--origin",
          "https://x.example",
        ],
        env,
        "",
      );
      expect(approve.code, approve.out).toBe(0);
      expect((await t.app.byok.keysFor("default")).get("sim-anthropic")?.origins).toEqual(
        new Set([origin, "https://x.example:443"]),
      );
      const denied = await sovr(
        ["keys", "byok", "set", "--tenant", "default", "--provider", "sim-eu"],
        { ...env, SOVR_KEY: "sovr_bad" },
        KEY,
      );
      expect(denied.code).not.toBe(0);
      expect(denied.out).toMatch(/unauthenticated: .*SOVR_KEY/); // in words, not "401"
      expect(t.logs.join("\n")).not.toContain(KEY);
    } finally {
      await t.close();
    }
  }, 90_000);
});
