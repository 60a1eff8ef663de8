import { execFile } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { REPO, startTestApp, type TestApp } from "../support/app.js";

const run = promisify(execFile);

describe("sovr policy eval (Explain from the command line)", () => {
  let t: TestApp;
  let dir: string;
  beforeAll(async () => {
    t = await startTestApp({ auth: true });
    dir = await mkdtemp(join(tmpdir(), "sovr-eval-"));
  });
  afterAll(async () => {
    await t?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it("shows, per candidate, what the live policy allows and why it denies, without calling upstream", async () => {
    const file = join(dir, "request.json");
    await writeFile(file, JSON.stringify({ model: "sim/chat-small", provider: { zdr: true } }));
    const before = t.simulator.stats("sim-eu").requests;
    const { stdout } = await run(
      process.execPath,
      [join(REPO, "bin/sovr.js"), "policy", "eval", "--request", file],
      {
        cwd: REPO,
        env: { ...process.env, SOVR_URL: t.app.httpUrl, SOVR_KEY: t.devKey! },
      },
    );
    expect(stdout).toMatch(/^policy [0-9a-f]{64}/m);
    expect(stdout).toContain("ALLOW sim-eu/chat-small");
    const us = /DENY {2}sim-us\/chat-small\n((?: {8}.*\n)+)/.exec(stdout)?.[1] ?? "";
    expect(us).toContain("policy: zdr: endpoint retains prompts for 30 days (source: provider)");
    expect(us).toContain("policy: zdr: endpoint caches prompts persistently (source: provider)");
    expect(stdout).toMatch(/DENY {2}sim-unknown\/chat-small\n(\s+policy: zdr: .*\(source: assumed\)\n)+/);
    expect(stdout).toContain("plan: sim-eu/chat-small");
    expect(stdout).toContain("content: nothing found (detector sovr-detect/1)");
    expect(t.simulator.stats("sim-eu").requests).toBe(before);
  }, 60_000);

  it("names the problem when the file is not a ChatRequest", async () => {
    const file = join(dir, "bad.json");
    await writeFile(file, JSON.stringify({ model: "sim/chat-small", temprature: 1 }));
    const err = await run(
      process.execPath,
      [join(REPO, "bin/sovr.js"), "policy", "eval", "--request", file],
      {
        cwd: REPO,
        env: { ...process.env, SOVR_URL: t.app.httpUrl, SOVR_KEY: t.devKey! },
      },
    ).catch((e: { code: number; stderr: string }) => e);
    expect((err as { code: number }).code).toBe(1);
    expect((err as { stderr: string }).stderr).toMatch(/bad\.json: not a ChatRequest.*temprature/);
  }, 60_000);
});

describe("sovr policy eval with SOVR_CONTENT_DETECTORS=off", () => {
  let t: TestApp;
  let dir: string;
  beforeAll(async () => {
    t = await startTestApp({ auth: true, env: { SOVR_CONTENT_DETECTORS: "off" } });
    dir = await mkdtemp(join(tmpdir(), "sovr-eval-"));
  });
  afterAll(async () => {
    await t?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it("says the content was not scanned (and content rules then fail closed)", async () => {
    const file = join(dir, "request.json");
    await writeFile(
      file,
      JSON.stringify({ model: "sim/chat-small", messages: [{ role: "user", content: "mail a@b.example" }] }),
    );
    const { stdout } = await run(
      process.execPath,
      [join(REPO, "bin/sovr.js"), "policy", "eval", "--request", file],
      { cwd: REPO, env: { ...process.env, SOVR_URL: t.app.httpUrl, SOVR_KEY: t.devKey! } },
    );
    expect(stdout).toContain("content: not scanned (no detector)");
  }, 60_000);
});
