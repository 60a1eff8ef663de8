/**
 * The `sovr catalog` commands as a user runs them: the real `bin/sovr.js` in a child process,
 * `list` and `apply` as clients of a real server (SOVR_URL), `validate` offline. PGlite only:
 * the store paths behind ApplyCatalog run on both databases in catalog-service.test.ts.
 */
import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createApiKey } from "../../src/auth/api-keys.js";
import { readCatalogFiles } from "../../src/catalog/catalog-store.js";
import { REPO, startTestApp, type TestApp } from "../support/app.js";
import { ACME_YAML } from "../support/catalog-files.js";

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function sovr(args: string[], env: Record<string, string> = {}): Promise<Run> {
  const { SOVR_KEY: _key, SOVR_URL: _url, ...base } = process.env;
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [join(REPO, "bin/sovr.js"), ...args],
      { cwd: REPO, env: { ...base, ...env }, timeout: 30_000 },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === "number" ? err.code : 1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

/** Cells of a table row (columns are separated by two or more spaces). */
function row(table: string, id: string): string[] {
  const line = table.split("\n").find((l) => l.startsWith(`${id} `));
  if (!line) throw new Error(`no row for ${id} in:\n${table}`);
  return line.split(/\s{2,}/);
}

describe("sovr catalog (CLI)", () => {
  let t: TestApp;
  let env: Record<string, string>;
  const dirs: string[] = [];
  const tempDir = async (files: Record<string, string>) => {
    const d = await mkdtemp(join(tmpdir(), "sovr-cli-"));
    dirs.push(d);
    for (const [name, content] of Object.entries(files)) await writeFile(join(d, name), content);
    return d;
  };

  beforeAll(async () => {
    t = await startTestApp({ env: { SOVR_CATALOG_WATCH: "false" } });
    env = { SOVR_URL: t.app.httpUrl };
  });
  afterAll(async () => {
    await t?.close();
    for (const d of dirs) await rm(d, { recursive: true, force: true });
  });

  it("list: renders the running catalog with assumed values marked", async () => {
    const r = await sovr(["catalog", "list"], env);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^ENDPOINT\s+MODEL\s+REGION\s+RETENTION\s+TRAINING\s+CACHING\s+PRICE/);
    expect(row(r.stdout, "sim-unknown/chat-small").slice(1, 7)).toEqual([
      "sim/chat-small",
      "unknown*",
      "indefinite*",
      "yes*",
      "persistent*",
      "$1.00 / $1.00",
    ]);
    expect(row(r.stdout, "sim-eu/chat-small").slice(2, 6)).toEqual(["eu/FR", "none", "no", "in-memory"]);
    expect(row(r.stdout, "sim-us/chat-small").slice(2, 6)).toEqual(["us/US", "30d", "no", "persistent"]);
    expect(r.stdout).toContain("* assumed: ");
    expect(r.stdout).toContain(`5 endpoints, catalog revision ${t.app.catalog.current().revision}`);
  });

  it("list: passes filters to the server", async () => {
    const r = await sovr(["catalog", "list", "--region", "eu", "--zdr-only", "--max-price", "2"], env);
    expect(r.code).toBe(0);
    const ids = r.stdout
      .split("\n")
      .filter((l) => l.startsWith("sim-"))
      .map((l) => l.split(" ")[0]);
    expect(ids).toEqual(["sim-eu/chat-small"]);
  });

  it("list: fails with the reason when no server answers", async () => {
    const r = await sovr(["catalog", "list"], { SOVR_URL: "http://127.0.0.1:1" });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/unavailable|ECONNREFUSED|fetch failed/i);
  });

  it("apply: validate-only, apply, unchanged; an invalid directory prints every issue and changes nothing", async () => {
    const yaml = await readFile(join(REPO, "test/fixtures/catalog/simulator.yaml"), "utf8");
    const before = t.app.catalog.current().revision;
    const changed = await tempDir({
      "simulator.yaml": yaml.replace(
        "pricing: { prompt: 1.0, completion: 1.0 }",
        "pricing: { prompt: 0.8, completion: 1.0 }",
      ),
    });

    const check = await sovr(["catalog", "apply", changed, "--validate-only"], env);
    expect(check.code).toBe(0);
    expect(check.stdout).toMatch(
      /^valid: 1 files, revision [0-9a-f]{64} \(differs from the running catalog\)/,
    );
    expect(t.app.catalog.current().revision).toBe(before);

    const broken = await tempDir({
      "simulator.yaml": yaml
        .replace("headquarters: FR", "headquarters: XX")
        .replace("context_length: 16384", "context_length: 0"),
    });
    for (const flags of [["--validate-only"], []]) {
      const bad = await sovr(["catalog", "apply", broken, ...flags], env);
      expect(bad.code, flags.join()).toBe(1);
      const lines = bad.stderr.trim().split("\n");
      expect(lines, flags.join()).toHaveLength(2);
      expect(lines.some((l) => /^simulator\.yaml:\d+: headquarters: "XX"/.test(l))).toBe(true);
      expect(lines.some((l) => /^simulator\.yaml:\d+: endpoints\[0\]\.context_length: /.test(l))).toBe(true);
    }
    expect(t.app.catalog.current().revision).toBe(before);

    const applied = await sovr(["catalog", "apply", changed], env);
    expect(applied.code).toBe(0);
    const after = t.app.catalog.current().revision;
    expect(after).not.toBe(before);
    expect(applied.stdout.trim()).toBe(`applied: revision ${after}`);
    const again = await sovr(["catalog", "apply", changed], env);
    expect(again.stdout.trim()).toBe(`unchanged: the running catalog is already revision ${after}`);

    // Back to the fixture catalog for the other tests (directly: this is set-up, not the CLI).
    await t.app.catalog.apply(await readCatalogFiles(join(REPO, "test/fixtures/catalog")));
    expect(t.app.catalog.current().revision).toBe(before);
  }, 90_000); // six CLI processes, each starting tsx: slow on a loaded 2-core machine

  it("validate: reports all five mistakes of a directory, one per line, offline", async () => {
    const variant = (slug: string) =>
      ACME_YAML.replace("provider: acme", `provider: ${slug}`).replaceAll("id: acme/", `id: ${slug}/`);
    const d = await tempDir({
      "a.yaml": variant("a").replace("name: Acme AI", "name: Acme AI\nwebsite: https://a.example"),
      "b.yaml": variant("b").replace("headquarters: DE", "headquarters: XX"),
      "c.yaml": variant("c").replace("completion: 6.0", "completion: -6"),
      "d.yaml": variant("d").replace("base_url: https://api.acme.example/v1", "base_url: api.acme.example"),
      "e.yaml": variant("e").replace("id: e/small", "id: e/large"),
    });
    // No server: validate never needs one.
    // ACME_API_KEY on the allow-list, as a server running this catalog would configure it.
    const r = await sovr(["catalog", "validate", d], {
      SOVR_URL: "http://127.0.0.1:1",
      SOVR_PROVIDER_KEY_VARS: "ACME_API_KEY",
    });
    expect(r.code).toBe(1);
    const lines = r.stdout.trim().split("\n");
    expect(lines).toHaveLength(5);
    expect(
      lines.map((l) => l.replace(/:\d+:/, ":")).map((l) => l.split(": ").slice(0, 2).join(": ")),
    ).toEqual([
      "a.yaml: website",
      "b.yaml: headquarters",
      "c.yaml: endpoints[0].pricing.completion",
      "d.yaml: endpoints[0].base_url",
      "e.yaml: endpoints[1].id",
    ]);
    expect(lines[4]).toContain('duplicate endpoint id "e/large"');
  });
});

describe("sovr catalog with API-key auth (CLI)", () => {
  let t: TestApp;
  let clientKey: string;
  let adminKey: string;
  beforeAll(async () => {
    t = await startTestApp({ auth: true, env: { SOVR_CATALOG_WATCH: "false" } });
    clientKey = (await createApiKey(t.app.db.db, { tenant: "default", roles: ["client"] })).token;
    adminKey = (await createApiKey(t.app.db.db, { tenant: "default", roles: ["admin"] })).token;
    await t.app.auth.refresh();
  });
  afterAll(async () => {
    await t?.close();
  });

  it("sends SOVR_KEY as a bearer token; apply needs the operator role (a tenant admin is refused)", async () => {
    const url = t.app.httpUrl;
    const anonymous = await sovr(["catalog", "list"], { SOVR_URL: url });
    expect(anonymous.code).toBe(1);
    expect(anonymous.stderr).toMatch(/unauthenticated/i);

    const listed = await sovr(["catalog", "list"], { SOVR_URL: url, SOVR_KEY: clientKey });
    expect(listed.code).toBe(0);
    expect(listed.stdout).toContain("sim-unknown/chat-small");

    const fixture = join(REPO, "test/fixtures/catalog");
    const denied = await sovr(["catalog", "apply", fixture, "--validate-only"], {
      SOVR_URL: url,
      SOVR_KEY: clientKey,
    });
    expect(denied.code).toBe(1);
    expect(denied.stderr).toMatch(/permission_denied|operator/i);
    const tenantAdmin = await sovr(["catalog", "apply", fixture, "--validate-only"], {
      SOVR_URL: url,
      SOVR_KEY: adminKey,
    });
    expect(tenantAdmin.code).toBe(1);
    expect(tenantAdmin.stderr).toMatch(/requires role operator/);

    // The development key is an operator key.
    const operator = await sovr(["catalog", "apply", fixture, "--validate-only"], {
      SOVR_URL: url,
      SOVR_KEY: t.devKey ?? "",
    });
    expect(operator.stderr).toBe("");
    expect(operator.stdout).toMatch(/^valid: .*\(same as the running catalog\)/);
  }, 60_000);
});
