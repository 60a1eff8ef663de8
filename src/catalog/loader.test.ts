import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { ACME_YAML, file, issuesOf } from "../../test/support/catalog-files.js";
import { CatalogValidationError, loadCatalogDir, parseCatalogFiles } from "./index.js";

describe("parseCatalogFiles", () => {
  it("accepts a valid provider and orders endpoints by id", () => {
    const source = parseCatalogFiles([file("acme.yaml", ACME_YAML)]);
    expect(source.providers.map((p) => p.provider)).toEqual(["acme"]);
    expect(source.providers[0]?.endpoints.map((e) => e.id)).toEqual(["acme/large", "acme/small"]);
  });

  it("rejects an unknown key with file, path and line", () => {
    const bad = ACME_YAML.replace("    context_length: 32768", "    context_length: 32768\n    contxt: 1");
    expect(issuesOf(() => parseCatalogFiles([file("acme.yaml", bad)]))).toEqual([
      { file: "acme.yaml", path: "endpoints[1].contxt", line: 23, message: 'unknown key "contxt"' },
    ]);
  });

  it("rejects an unknown key inside a policy block", () => {
    const bad = ACME_YAML.replace("  trains_on_data: false", "  trains_on_data: false\n  retention_day: 3");
    const issues = issuesOf(() => parseCatalogFiles([file("acme.yaml", bad)]));
    expect(issues).toEqual([
      { file: "acme.yaml", path: "policy.retention_day", line: 7, message: 'unknown key "retention_day"' },
    ]);
  });

  it("rejects a bad country code", () => {
    const bad = ACME_YAML.replace("headquarters: DE", "headquarters: UK");
    expect(issuesOf(() => parseCatalogFiles([file("acme.yaml", bad)]))).toEqual([
      {
        file: "acme.yaml",
        path: "headquarters",
        line: 3,
        message: '"UK" is not an ISO 3166-1 alpha-2 country code',
      },
    ]);
  });

  it("rejects a residency in region eu outside the EEA", () => {
    const bad = ACME_YAML.replace("{ region: eu, country: DE }", "{ region: eu, country: CH }");
    const [issue] = issuesOf(() => parseCatalogFiles([file("acme.yaml", bad)]));
    expect(issue).toMatchObject({ path: "endpoints[0].residency.country", line: 14 });
    expect(issue?.message).toContain("EU/EEA");
  });

  it("rejects a negative price", () => {
    const bad = ACME_YAML.replace("prompt: 0.1", "prompt: -0.1");
    expect(issuesOf(() => parseCatalogFiles([file("acme.yaml", bad)]))).toEqual([
      {
        file: "acme.yaml",
        path: "endpoints[1].pricing.prompt",
        line: 21,
        message: "price must not be negative (got -0.1)",
      },
    ]);
  });

  it("rejects a malformed URL and a non-http URL", () => {
    const bad = ACME_YAML.replace("base_url: https://api.acme.example/v1", "base_url: not a url").replace(
      "base_url: https://api.acme.example/v1",
      "base_url: ftp://api.acme.example/v1",
    );
    const issues = issuesOf(() => parseCatalogFiles([file("acme.yaml", bad)]));
    expect(issues.map((i) => [i.path, i.line])).toEqual([
      ["endpoints[0].base_url", 12],
      ["endpoints[1].base_url", 20],
    ]);
    expect(issues[0]?.message).toBe('malformed URL "not a url"');
    expect(issues[1]?.message).toContain("http or https");
  });

  it("rejects credentials embedded in a URL", () => {
    const bad = ACME_YAML.replace("https://api.acme.example/v1", "https://user:secret@api.acme.example/v1");
    const [issue] = issuesOf(() => parseCatalogFiles([file("acme.yaml", bad)]));
    expect(issue).toMatchObject({ path: "endpoints[0].base_url", message: "URL must not embed credentials" });
  });

  it("rejects a missing required field, located at its parent", () => {
    const bad = ACME_YAML.replace("    context_length: 131072\n", "");
    expect(issuesOf(() => parseCatalogFiles([file("acme.yaml", bad)]))).toEqual([
      {
        file: "acme.yaml",
        path: "endpoints[0].context_length",
        line: 9,
        message: "required field is missing",
      },
    ]);
  });

  it("rejects a wrong type and a bad enum value", () => {
    const bad = ACME_YAML.replace("trains_on_data: false", "trains_on_data: nope").replace(
      "api: openai",
      "api: grpc",
    );
    const issues = issuesOf(() => parseCatalogFiles([file("acme.yaml", bad)]));
    expect(issues.map((i) => i.path).sort()).toEqual(["endpoints[0].api", "policy.trains_on_data"]);
    expect(issues.find((i) => i.path === "policy.trains_on_data")?.message).toBe(
      'must be a boolean, got string "nope"',
    );
  });

  it("rejects an endpoint id that does not start with the provider slug", () => {
    const bad = ACME_YAML.replace("id: acme/small", "id: other/small");
    expect(issuesOf(() => parseCatalogFiles([file("acme.yaml", bad)]))).toEqual([
      {
        file: "acme.yaml",
        path: "endpoints[1].id",
        line: 17,
        message: 'endpoint id "other/small" must start with "acme/"',
      },
    ]);
  });

  it("rejects duplicate endpoint ids across files, naming the first definition", () => {
    const other = ACME_YAML.replace("provider: acme", "provider: acme-two")
      .replace("id: acme/small", "id: acme-two/small")
      .replace("id: acme/large", "id: acme-two/large");
    const dup = other.replace("id: acme-two/small", "id: acme-two/large");
    const issues = issuesOf(() => parseCatalogFiles([file("a.yaml", ACME_YAML), file("b.yaml", dup)]));
    expect(issues).toEqual([
      {
        file: "b.yaml",
        path: "endpoints[1].id",
        line: 17,
        message: 'duplicate endpoint id "acme-two/large" (first defined at b.yaml:9)',
      },
    ]);
  });

  it("rejects duplicate provider slugs across files", () => {
    const issues = issuesOf(() => parseCatalogFiles([file("a.yaml", ACME_YAML), file("b.yaml", ACME_YAML)]));
    expect(issues).toContainEqual({
      file: "b.yaml",
      path: "provider",
      line: 1,
      message: 'duplicate provider "acme" (first defined at a.yaml:1)',
    });
    // and the endpoints of the duplicate provider collide too
    expect(issues.filter((i) => i.message.startsWith("duplicate endpoint id"))).toHaveLength(2);
  });

  it("reports YAML syntax errors with a line", () => {
    const issues = issuesOf(() => parseCatalogFiles([file("x.yaml", "provider: [unclosed\nname: x\n")]));
    expect(issues[0]).toMatchObject({ file: "x.yaml", path: "" });
    expect(issues[0]?.line).toBeGreaterThan(0);
    expect(issues[0]?.message).toMatch(/^YAML syntax/);
  });

  it("rejects duplicate YAML keys", () => {
    const bad = ACME_YAML.replace("name: Acme AI", "name: Acme AI\nname: Again");
    const issues = issuesOf(() => parseCatalogFiles([file("acme.yaml", bad)]));
    expect(issues[0]).toMatchObject({ file: "acme.yaml", line: 3 });
  });

  it("reads several providers from one file as YAML documents", () => {
    const second = ACME_YAML.replace("provider: acme", "provider: beta")
      .replaceAll("id: acme/", "id: beta/")
      .replace("api_key_env: ACME_API_KEY", "api_key_env: BETA_KEY");
    const source = parseCatalogFiles([file("multi.yaml", `${ACME_YAML}---\n${second}---\n`)]);
    expect(source.providers.map((p) => p.provider)).toEqual(["acme", "beta"]);
  });

  it("locates issues in the second document of a file", () => {
    const second = ACME_YAML.replace("provider: acme", "provider: beta")
      .replaceAll("id: acme/", "id: beta/")
      .replace("prompt: 2.0", "prompt: -2");
    const issues = issuesOf(() => parseCatalogFiles([file("multi.yaml", `${ACME_YAML}---\n${second}`)]));
    const offset = ACME_YAML.split("\n").length; // lines of doc 1 plus the `---` line
    expect(issues).toEqual([
      expect.objectContaining({ path: "endpoints[0].pricing.prompt", line: offset + 15 }),
    ]);
  });

  it("rejects a file without a provider", () => {
    expect(issuesOf(() => parseCatalogFiles([file("empty.yaml", "# nothing\n")]))).toEqual([
      { file: "empty.yaml", path: "", message: "file holds no provider" },
    ]);
  });

  it("interpolates $-references with defaults in base_url from the injected env", () => {
    const yaml = ACME_YAML.replace(
      "base_url: https://api.acme.example/v1",
      // biome-ignore lint/suspicious/noTemplateCurlyInString: the catalog's own ${VAR} syntax
      "base_url: ${ACME_URL:-http://127.0.0.1:9}/v1",
    );
    const withDefault = parseCatalogFiles([file("acme.yaml", yaml)], { env: {} });
    expect(withDefault.providers[0]?.endpoints[0]?.base_url).toBe("http://127.0.0.1:9/v1");
    const withEnv = parseCatalogFiles([file("acme.yaml", yaml)], { env: { ACME_URL: "https://x.example" } });
    expect(withEnv.providers[0]?.endpoints[0]?.base_url).toBe("https://x.example/v1");
  });

  it("rejects a $-reference without a default when VAR is unset", () => {
    // biome-ignore lint/suspicious/noTemplateCurlyInString: the catalog's own ${VAR} syntax
    const yaml = ACME_YAML.replace("base_url: https://api.acme.example/v1", "base_url: ${NOPE}/v1");
    const [issue] = issuesOf(() => parseCatalogFiles([file("acme.yaml", yaml)], { env: {} }));
    expect(issue).toMatchObject({ path: "endpoints[0].base_url", line: 12 });
    expect(issue?.message).toContain("NOPE is not set");
  });

  it("rejects evidence for a fact the block does not state", () => {
    const bad = ACME_YAML.replace(
      '  evidence: { url: "https://acme.example/dpa", document: "DPA v2", verified_on: 2026-11-22 }',
      '  evidence:\n    caching: { url: "https://acme.example/dpa", verified_on: 2026-11-22 }',
    );
    expect(issuesOf(() => parseCatalogFiles([file("acme.yaml", bad)]))).toEqual([
      {
        file: "acme.yaml",
        path: "policy.evidence.caching",
        line: 8,
        message: "evidence for caching, which is not stated here",
      },
    ]);
  });

  it("reports the closest branch for a malformed per-fact evidence map", () => {
    const bad = ACME_YAML.replace(
      '  evidence: { url: "https://acme.example/dpa", document: "DPA v2", verified_on: 2026-11-22 }',
      '  evidence:\n    retention: { url: "https://acme.example/dpa", verified_on: 2026-11-22 }',
    );
    const issues = issuesOf(() => parseCatalogFiles([file("acme.yaml", bad)]));
    expect(issues).toContainEqual({
      file: "acme.yaml",
      path: "policy.evidence.retention",
      line: 8,
      message: 'unknown key "retention"',
    });
  });

  it("rejects an impossible verified_on date", () => {
    const bad = ACME_YAML.replace("verified_on: 2026-11-22", "verified_on: 2026-02-30");
    const [issue] = issuesOf(() => parseCatalogFiles([file("acme.yaml", bad)]));
    expect(issue).toMatchObject({ path: "policy.evidence.verified_on", line: 7 });
  });
});

describe("loadCatalogDir", () => {
  let dir = "";
  afterEach(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  async function writeDir(files: Record<string, string>): Promise<string> {
    dir = await mkdtemp(join(tmpdir(), "sovr-catalog-"));
    for (const [name, content] of Object.entries(files)) await writeFile(join(dir, name), content);
    return dir;
  }

  it("reports all five mistakes of a directory, one issue each", async () => {
    const d = await writeDir({
      "a-unknown-key.yaml": ACME_YAML.replace("provider: acme", "provider: a")
        .replaceAll("id: acme/", "id: a/")
        .replace("name: Acme AI", "name: Acme AI\nwebsite: https://a.example"),
      "b-bad-country.yaml": ACME_YAML.replace("provider: acme", "provider: b")
        .replaceAll("id: acme/", "id: b/")
        .replace("headquarters: DE", "headquarters: XX"),
      "c-negative-price.yaml": ACME_YAML.replace("provider: acme", "provider: c")
        .replaceAll("id: acme/", "id: c/")
        .replace("completion: 6.0", "completion: -6"),
      "d-bad-url.yaml": ACME_YAML.replace("provider: acme", "provider: d")
        .replaceAll("id: acme/", "id: d/")
        .replace("base_url: https://api.acme.example/v1", "base_url: https//api.acme.example"),
      "e-duplicate-and-missing.yaml": ACME_YAML.replace("provider: acme", "provider: e")
        .replace("id: acme/large", "id: e/large")
        .replace("id: acme/small", "id: e/large")
        .replace("    model: acme/small\n", ""),
      "notes.txt": "ignored",
    });
    const err = await loadCatalogDir(d).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CatalogValidationError);
    const issues = (err as CatalogValidationError).issues;
    expect(issues.map((i) => `${i.file} ${i.path}`).sort()).toEqual([
      "a-unknown-key.yaml website",
      "b-bad-country.yaml headquarters",
      "c-negative-price.yaml endpoints[0].pricing.completion",
      "d-bad-url.yaml endpoints[0].base_url",
      "e-duplicate-and-missing.yaml endpoints[1].model",
    ]);
  });

  it("rejects the duplicate once the rest of the file is fixed", async () => {
    const d = await writeDir({
      "e.yaml": ACME_YAML.replace("provider: acme", "provider: e")
        .replace("id: acme/large", "id: e/large")
        .replace("id: acme/small", "id: e/large"),
    });
    const err = (await loadCatalogDir(d).catch((e: unknown) => e)) as CatalogValidationError;
    expect(err.issues).toEqual([
      {
        file: "e.yaml",
        path: "endpoints[1].id",
        line: 17,
        message: 'duplicate endpoint id "e/large" (first defined at e.yaml:9)',
      },
    ]);
  });

  it("is atomic: one bad file rejects the valid ones too", async () => {
    const d = await writeDir({
      "good.yaml": ACME_YAML,
      "bad.yaml": ACME_YAML.replace("provider: acme", "provider: bad")
        .replaceAll("id: acme/", "id: bad/")
        .replace("context_length: 32768", "context_length: 0"),
    });
    const err = (await loadCatalogDir(d).catch((e: unknown) => e)) as CatalogValidationError;
    expect(err).toBeInstanceOf(CatalogValidationError);
    expect(err.issues).toEqual([
      {
        file: "bad.yaml",
        path: "endpoints[1].context_length",
        line: 22,
        message: "context_length must be positive",
      },
    ]);
    expect(err.file).toBe("bad.yaml");
    expect(err.path).toBe("endpoints[1].context_length");
  });

  it("rejects a directory without YAML files and a missing directory", async () => {
    const d = await writeDir({ "readme.md": "#" });
    await expect(loadCatalogDir(d)).rejects.toThrow(/no \*\.yaml files/);
    await expect(loadCatalogDir(join(d, "missing"))).rejects.toThrow(/cannot read catalog directory/);
  });
});
