/**
 * The web console (docs/console.md) end to end in Debian's chromium: served with its CSP, the
 * key typed in and kept in memory, decisions searched, a record verified IN THE BROWSER against
 * pinned keys — and shown FAILED once the stored record is tampered with — checkpoints, the
 * catalog, policy impact; no request leaves the origin and the key is in no URL or storage.
 * Screenshots go to docs/console-*.png.
 */
import { copyFile, mkdtemp, rm } from "node:fs/promises";
import { request } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { sql } from "kysely";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseCheckpoint, signCheckpoint } from "../../src/audit/checkpoint.js";
import { loadSigningKeys } from "../../src/audit/keys.js";
import { auditClient } from "../../src/cli/audit-commands.js";
import { keysCommand } from "../../src/cli/audit-trust.js";
import { REPO, startTestApp, type TestApp } from "../support/app.js";
import { haveChromium, launchChromium, recordPage } from "../support/browser.js";

/** A GET with the path sent as written (fetch would normalise the dot segments away). */
function rawGet(url: string): Promise<number> {
  const u = new URL(url);
  const path = url.slice(u.origin.length);
  return new Promise((resolve, reject) => {
    request({ host: u.hostname, port: u.port, path, method: "GET" }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    })
      .on("error", reject)
      .end();
  });
}

/** The docs' screenshots, rewritten only when asked (SOVR_CONSOLE_SCREENSHOTS=1): a test run leaves the tree clean. */
const SHOTS = process.env.SOVR_CONSOLE_SCREENSHOTS === "1";
const shot = async (page: Page, name: string) => {
  if (SHOTS) await page.screenshot({ path: join(REPO, `docs/console-${name}.png`), fullPage: true });
};

describe.skipIf(!haveChromium)("the web console in a real browser", () => {
  let t: TestApp;
  let browser: Browser;
  let page: Page;
  let seen: ReturnType<typeof recordPage>;
  let pinned: string;
  let origin: string;
  let catalogDir: string;
  const key = () => t.devKey!;

  /** `n` chat completions (regions in turn), then the log drained. */
  async function routeChat(n: number, regions = ["eu"]): Promise<void> {
    for (let i = 0; i < n; i++) {
      const res = await fetch(`${origin}/v1/chat/completions`, {
        method: "POST",
        headers: { authorization: `Bearer ${key()}`, "content-type": "application/json" },
        body: JSON.stringify({
          model: "sim/chat-small",
          region: regions[i % regions.length],
          messages: [{ role: "user", content: "hi" }],
        }),
      });
      await res.text();
    }
    await t.app.audit.drain();
  }

  beforeAll(async () => {
    // The simulator's endpoints to route to, and a shipped provider file whose facts carry evidence.
    catalogDir = await mkdtemp(join(tmpdir(), "console-catalog-"));
    await copyFile(join(REPO, "test/fixtures/catalog/simulator.yaml"), join(catalogDir, "simulator.yaml"));
    await copyFile(join(REPO, "catalog/mistral.yaml"), join(catalogDir, "mistral.yaml"));
    t = await startTestApp({
      auth: true,
      catalogDir,
      env: { SOVR_CHECKPOINT_EVERY: "2", SOVR_CHECKPOINT_INTERVAL_MS: "60000" },
    });
    origin = t.app.httpUrl.replace(/\/$/, "");
    await routeChat(4, ["eu", "eu", "us", "eu"]);
    pinned = join(tmpdir(), `console-pinned-${process.pid}.json`);
    const r = await keysCommand(auditClient({ url: t.app.httpUrl, key: key() }), { out: pinned });
    expect(r.exitCode).toBe(0);
    browser = await launchChromium();
    page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    seen = recordPage(page);
  }, 120_000);
  afterAll(async () => {
    await browser?.close();
    await t?.close();
    if (catalogDir) await rm(catalogDir, { recursive: true, force: true });
  });

  it("is served with a strict CSP and no third-party origin", async () => {
    const res = await page.goto(`${origin}/console`);
    expect(res?.status()).toBe(200);
    const csp = res?.headers()["content-security-policy"] ?? "";
    for (const d of [
      "default-src 'self'",
      "connect-src 'self'",
      "frame-ancestors 'none'",
      "script-src 'self'",
      "style-src 'self'",
    ])
      expect(csp).toContain(d);
    expect(csp).not.toContain("unsafe-inline");
    await expect(
      fetch(`${origin}/console/js/main.js`).then((r) => r.headers.get("content-type")),
    ).resolves.toMatch(/javascript/);
    expect(await rawGet(`${origin}/console/../package.json`)).toBe(404);
    expect((await fetch(`${origin}/console/`, { method: "POST" })).status).toBe(405);
    expect(await rawGet(`${origin}/console/js/%2e%2e/index.html`)).toBe(404);
    await page.waitForSelector("#search-form select option", { state: "attached" });
  });

  it("searches decisions with the key, and verifies a record against pinned keys", async () => {
    await page.fill("#key", key());
    await page.click("#key-use");
    await page.setInputFiles("#keys-file", pinned);
    await page.waitForSelector("#trust-status:has-text('pinned keys')");
    await page.click("#search");
    await page.waitForSelector("#decisions tbody tr");
    expect(await page.locator("#decisions tbody tr").count()).toBe(4);
    await shot(page, "search");
    await page.locator("#decisions button[data-decision]").first().click();
    const verdicts = page.locator("#record-verdicts");
    await verdicts.getByText("signature verified", { exact: true }).waitFor();
    await expect(verdicts.textContent()).resolves.toContain("inclusion verified");
    await page.locator("#candidates").waitFor();
    await shot(page, "record");
  });

  it("filters as auditors ask: outside the EU, with a count, and by a rule the endpoint passed", async () => {
    await page.click("#nav-search");
    await page.selectOption("#search-form select[name=outside]", "EU");
    await page.check("#search-form input[name=count]");
    await page.click("#search");
    await page.locator("#search-total").getByText("1 matching", { exact: true }).waitFor();
    expect(await page.locator("#decisions tbody tr").count()).toBe(1); // the one routed with region us
    await page.selectOption("#search-form select[name=outside]", "");
    await page.fill("#search-form input[name=passed]", "no-such-rule");
    await page.click("#search");
    await page.locator("#search-total").getByText("0 matching", { exact: true }).waitFor();
    await page.fill("#search-form input[name=passed]", "");
    await page.uncheck("#search-form input[name=count]");
    await page.click("#search");
    await page.waitForSelector("#decisions tbody tr");
    expect(await page.locator("#decisions tbody tr").count()).toBe(4);
    // Back to a record, where the next test starts.
    await page.locator("#decisions button[data-decision]").first().click();
    await page.locator("#record-verdicts").getByText("signature verified", { exact: true }).waitFor();
  });

  it("shows verification FAILED for a record tampered with in the database", async () => {
    const id = (await page
      .locator("#decisions button[data-decision]")
      .first()
      .getAttribute("data-decision"))!;
    await t.app.audit.settled();
    const db = t.app.db.db;
    const row = await db
      .selectFrom("audit_log")
      .selectAll()
      .where("decision_id", "=", id)
      .where("kind", "=", "decision")
      .executeTakeFirstOrThrow();
    const env = JSON.parse(row.envelope) as { payload: string };
    const forged = Buffer.from(env.payload, "base64")
      .toString("utf8")
      .replace('"plan":["sim-', '"plan":["xim-');
    expect(forged).toContain('"plan":["xim-');
    const setEnvelope = async (envelope: string) => {
      await sql`alter table audit_log disable trigger audit_log_no_update`.execute(db);
      try {
        await db.updateTable("audit_log").set({ envelope }).where("seq", "=", row.seq).execute();
      } finally {
        await sql`alter table audit_log enable trigger audit_log_no_update`.execute(db);
      }
    };
    await setEnvelope(JSON.stringify({ ...env, payload: Buffer.from(forged).toString("base64") }));
    try {
      await page.fill("#record-form input[name=id]", id);
      await page.click("#record-form button");
      const verdicts = page.locator("#record-verdicts");
      await verdicts.getByText("signature verification FAILED", { exact: false }).waitFor();
      await expect(verdicts.textContent()).resolves.toContain("inclusion verification FAILED");
      await shot(page, "record-failed");
    } finally {
      await setEnvelope(row.envelope);
    }
  });

  it("shows the checkpoint, the catalog with evidence, and a draft bundle's impact", async () => {
    await page.click("#nav-checkpoints");
    await page.click("#checkpoint-load");
    await page.locator("#checkpoint-verdicts").getByText("checkpoint signature verified").waitFor();
    const first = parseCheckpoint(
      (await page.locator("#checkpoint-note").textContent())!.split("\n\n")[0]! + "\n",
    );
    // The log grows; the next checkpoint must extend the one this session saw.
    await routeChat(2);
    await page.click("#checkpoint-load");
    await page
      .locator("#checkpoint-verdicts")
      .getByText("consistency with the kept checkpoint verified")
      .waitFor();
    // A kept checkpoint that the log's key signed for another tree (a rewritten log or another
    // view of it): the server's consistency proof cannot join it to the latest.
    const [signer] = await loadSigningKeys(t.app.config.keysDir);
    const forged = signCheckpoint({ ...first, rootHash: new Uint8Array(32).fill(1) }, signer!);
    await page.fill("#kept-checkpoint", forged);
    await page.click("#checkpoint-load");
    const failed = page
      .locator("#checkpoint-verdicts")
      .getByText("consistency with the kept checkpoint verification FAILED");
    await failed.waitFor();
    await expect(failed.textContent()).resolves.toContain("does not extend the kept checkpoint");
    await shot(page, "checkpoints");
    await page.fill("#kept-checkpoint", "");
    await page.click("#nav-catalog");
    await page.waitForSelector("#endpoints tbody tr");
    await page
      .locator("#endpoints")
      .getByText("next →")
      .or(page.locator("#endpoints tbody tr"))
      .first()
      .waitFor();
    const endpoints = (await page.locator("#endpoints").textContent()) ?? "";
    expect(endpoints).toContain("source: assumed");
    expect(endpoints).toContain("mistral/");
    expect(await page.locator("#endpoints .evidence a").count()).toBeGreaterThan(0);
    await shot(page, "catalog");
    await page.click("#nav-impact");
    await page.setInputFiles("#impact-form input[name=bundle]", join(REPO, "policies/dist/bundle.tar.gz"));
    await page.click("#impact-run");
    await page.waitForSelector("#impact-summary");
    await expect(page.locator("#impact-summary").textContent()).resolves.toMatch(/replayed\s*6/);
    await shot(page, "impact");
  });

  it("never puts the key in a URL or storage, and asks nothing of another origin", async () => {
    // Evaluated in the page (a string: this project's types have no DOM library).
    const stored = await page.evaluate(
      "({ local: localStorage.length, session: sessionStorage.length, cookie: document.cookie, url: location.href })",
    );
    expect(stored).toEqual({ local: 0, session: 0, cookie: "", url: `${origin}/console` });
    expect(seen.requests.length).toBeGreaterThan(10);
    for (const url of seen.requests) {
      expect(new URL(url).origin).toBe(origin);
      expect(url).not.toContain(key());
    }
    expect(seen.errors.filter((e) => !/status of (4|5)\d\d/.test(e))).toEqual([]);
  });
});
