import { execFile } from "node:child_process";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createApiKey } from "../../src/auth/api-keys.js";
import { usdMicros } from "../../src/cli/budgets-commands.js";
import { REPO, startTestApp, type TestApp } from "../support/app.js";

const run = promisify(execFile);
const sovr = (args: string[], env: Record<string, string>) =>
  run(process.execPath, [join(REPO, "bin/sovr.js"), ...args], {
    cwd: REPO,
    env: { ...process.env, DATABASE_URL: "", ...env },
  });

describe("sovr budgets (CLI)", () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ auth: true });
  });
  afterAll(async () => {
    await t?.close();
  });

  it("parses dollars exactly", () => {
    expect(usdMicros("12.50")).toBe(12_500_000n);
    expect(usdMicros("0.000001")).toBe(1n);
    expect(() => usdMicros("1.0000001")).toThrow(/--usd/);
    expect(() => usdMicros("-1")).toThrow(/--usd/);
  });

  it("sets, lists (table and JSON) and deletes budgets through the running server; a tenant admin is held to its tenant", async () => {
    const op = { SOVR_URL: t.app.httpUrl, SOVR_KEY: t.devKey! };
    await sovr(["budgets", "set", "--tenant", "acme", "--period", "day", "--usd", "12.50"], op);
    await sovr(["budgets", "set", "--tenant", "acme", "--period", "day", "--tokens", "5000"], op);
    const table = (await sovr(["budgets", "list", "--all-tenants"], op)).stdout;
    expect(table).toMatch(/acme\s+\(tenant\)\s+day\s+12\.50\s+0\.00\s+5000\s+0/);
    const listed = JSON.parse((await sovr(["budgets", "list", "--tenant", "acme", "--json"], op)).stdout);
    expect(listed).toEqual([
      expect.objectContaining({
        tenant: "acme",
        key_id: "",
        period: "day",
        usd_micros: 12_500_000,
        tokens: 5000,
      }),
    ]);

    const admin = await createApiKey(t.app.db.db, { tenant: "acme", roles: ["admin"] });
    await t.app.auth.refresh();
    const asAdmin = { SOVR_URL: t.app.httpUrl, SOVR_KEY: admin.token };
    const refused = await sovr(
      ["budgets", "set", "--tenant", "other", "--period", "month", "--tokens", "1"],
      asAdmin,
    ).catch((e: { stderr: string }) => e);
    expect((refused as { stderr: string }).stderr).toContain(
      "tenant: a tenant admin manages only its own tenant's budgets",
    );
    expect(
      (await sovr(["budgets", "delete", "--tenant", "acme", "--period", "day"], asAdmin)).stdout,
    ).toContain("deleted");
    expect(JSON.parse((await sovr(["budgets", "list", "--json"], asAdmin)).stdout)).toEqual([]);
  }, 180_000);
});
