/**
 * The standalone verifier (console/sovr-verify.html) an auditor keeps and opens from disk, in
 * Debian's chromium: an export's files chosen with the file picker verify OK against pinned
 * keys; a record, a catalog revision or the keys altered show FAILED naming where; a saved
 * GetDecision answer verifies; the page makes no network request. (That the committed file is
 * the build of the console's modules: console-lib.test.ts.)
 */
import { copyFile, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { auditClient, exportCommand } from "../../src/cli/audit-commands.js";
import { keysCommand } from "../../src/cli/audit-trust.js";
import { REPO, startTestApp, type TestApp } from "../support/app.js";
import { exportLog } from "../support/audit-live.js";
import { haveChromium, launchChromium, recordPage } from "../support/browser.js";

const STANDALONE = join(REPO, "console/sovr-verify.html");

describe.skipIf(!haveChromium)("the standalone verifier, opened from disk", () => {
  let t: TestApp;
  let browser: Browser;
  let page: Page;
  let seen: ReturnType<typeof recordPage>;
  let dir: string;
  let work: string;
  let pinned: string;
  let decisionId: string;

  beforeAll(async () => {
    t = await startTestApp({ env: { SOVR_CHECKPOINT_EVERY: "2", SOVR_CHECKPOINT_INTERVAL_MS: "60000" } });
    for (let i = 0; i < 3; i++) {
      const res = await fetch(`${t.app.httpUrl}/v1/chat/completions`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({
          model: "sim/chat-small",
          region: "eu",
          messages: [{ role: "user", content: "hi" }],
        }),
      });
      decisionId = res.headers.get("x-sovr-decision-id")!;
      await res.text();
    }
    await t.app.audit.drain();
    dir = await exportLog(t);
    work = await mkdtemp(join(tmpdir(), "sovr-standalone-"));
    pinned = join(work, "pinned.json");
    expect((await keysCommand(auditClient({ url: t.app.httpUrl }), { out: pinned })).exitCode).toBe(0);
    browser = await launchChromium();
    page = await browser.newPage({ viewport: { width: 1100, height: 700 } });
    seen = recordPage(page);
    await page.goto(pathToFileURL(STANDALONE).href);
  }, 120_000);
  afterAll(async () => {
    await browser?.close();
    await t?.close();
    await rm(work, { recursive: true, force: true });
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  /** The export's files (records.jsonl, checkpoints.jsonl, keys.json, catalogs/*), from `from`. */
  async function files(from: string): Promise<string[]> {
    const cats = await readdir(join(from, "catalogs"));
    return [
      ...["records.jsonl", "checkpoints.jsonl", "keys.json"].map((f) => join(from, f)),
      ...cats.map((c) => join(from, "catalogs", c)),
    ];
  }

  async function verify(exportDir: string, keys = pinned): Promise<string> {
    await page.setInputFiles("#pinned", keys);
    await page.setInputFiles("#export", await files(exportDir));
    await page.click("#verify-export");
    await page.waitForSelector("#verdict");
    return (await page.locator("#verdict").textContent()) ?? "";
  }

  /** A copy of the export with `change` applied to it. */
  async function altered(change: (copy: string) => Promise<void>): Promise<string> {
    const copy = await mkdtemp(join(work, "export-"));
    await mkdir(join(copy, "catalogs"));
    for (const f of await files(dir)) await copyFile(f, join(copy, f.slice(dir.length + 1)));
    await change(copy);
    return copy;
  }

  /** The lines of an export's records.jsonl. */
  const recordLines = async (from: string) =>
    (await readFile(join(from, "records.jsonl"), "utf8")).split("\n").filter((l) => l !== "");

  it("verifies an untouched export against the pinned keys", async () => {
    const n = (await recordLines(dir)).length;
    expect(n).toBeGreaterThanOrEqual(6); // three decisions, three outcomes (and any admin records)
    expect(await verify(dir)).toMatch(
      new RegExp(
        `^OK: ${n} records, \\d+ checkpoints \\(${n} records checkpointed\\), verified against the pinned keys`,
      ),
    );
    if (process.env.SOVR_CONSOLE_SCREENSHOTS === "1")
      await page.screenshot({ path: join(REPO, "docs/console-standalone.png"), fullPage: true });
  });

  it("shows FAILED for a record altered in the export, naming its seq", async () => {
    const decode = (l: string) =>
      Buffer.from((JSON.parse(l) as { envelope: { payload: string } }).envelope.payload, "base64").toString();
    // The second decision record: its plan claims another endpoint.
    const target = (await recordLines(dir))
      .map((l, i) => ({ i, payload: decode(l) }))
      .filter((x) => x.payload.includes('"plan":["sim-'))[1]!.i;
    const copy = await altered(async (c) => {
      const lines = await recordLines(c);
      const line = JSON.parse(lines[target]!) as { envelope: { payload: string } };
      const payload = decode(lines[target]!).replace('"plan":["sim-', '"plan":["xim-');
      line.envelope.payload = Buffer.from(payload).toString("base64");
      lines[target] = JSON.stringify(line);
      await writeFile(join(c, "records.jsonl"), lines.join("\n"));
    });
    expect(await verify(copy)).toMatch(
      new RegExp(`^FAILED at seq ${target}: signature: bad signature by key`),
    );
    if (process.env.SOVR_CONSOLE_SCREENSHOTS === "1")
      await page.screenshot({ path: join(REPO, "docs/console-standalone-failed.png"), fullPage: true });
  });

  it("shows FAILED for an altered catalog revision and for keys that were not pinned", async () => {
    const cat = await altered(async (c) => {
      const [name] = await readdir(join(c, "catalogs"));
      const p = join(c, "catalogs", name!);
      await writeFile(p, (await readFile(p, "utf8")).replace("sim-eu", "sim-EU"));
    });
    expect(await verify(cat)).toMatch(/^FAILED at catalog [0-9a-f]{64}: content hashes to/);
    const other = join(work, "other-keys.json");
    await writeFile(
      other,
      JSON.stringify({
        keys: [
          {
            key_id: "d3c2ff6fa0a4c6c9",
            algorithm: "ed25519",
            public_key: Buffer.alloc(32, 7).toString("base64"),
          },
        ],
      }),
    );
    expect(await verify(dir, other)).toMatch(
      /^FAILED: key d3c2ff6fa0a4c6c9: its id is not derived|^FAILED at keys.json/,
    );
  });

  it("verifies a tenant-scoped export by each record's inclusion proof", async () => {
    const scoped = await mkdtemp(join(work, "tenant-"));
    const r = await exportCommand({ url: t.app.httpUrl, out: scoped, tenant: "default", progress: () => {} });
    expect(r.exitCode).toBe(0);
    const n = (await recordLines(scoped)).length;
    expect(n).toBeGreaterThanOrEqual(6);
    expect(await verify(scoped)).toMatch(new RegExp(`^OK: ${n} records, 1 checkpoints`));
    await expect(page.locator("#result").textContent()).resolves.toContain(
      "tenant-scoped export: tenant default",
    );
    const lines = await recordLines(scoped);
    const line = JSON.parse(lines[3]!) as { proof: { hashes: string[] } };
    line.proof.hashes[0] = Buffer.alloc(32, 5).toString("base64");
    lines[3] = JSON.stringify(line);
    await writeFile(join(scoped, "records.jsonl"), lines.join("\n"));
    expect(await verify(scoped)).toMatch(
      /^FAILED at seq \d+: inclusion proof does not lead to the checkpoint's root/,
    );
  });

  it("verifies a saved GetDecision answer, and made no network request", async () => {
    const res = await fetch(`${t.app.httpUrl}/sovereign.v1.AuditService/GetDecision`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ decisionId }),
    });
    await page.setInputFiles("#pinned", pinned);
    await page.fill("#answer", await res.text());
    await page.click("#verify-answer");
    await page.locator("#verdict").getByText("inclusion verified").waitFor();
    await expect(page.locator("#verdict").textContent()).resolves.toContain("signature verified");
    expect(seen.requests.every((u) => u.startsWith("file://"))).toBe(true);
    expect(seen.errors).toEqual([]);
  });
});
