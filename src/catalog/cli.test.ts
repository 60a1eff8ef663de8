import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { ACME_YAML, file } from "../../test/support/catalog-files.js";
import {
  buildSnapshot,
  formatIssue,
  parseCatalogFiles,
  renderEndpointTable,
  validateCatalogDir,
} from "./index.js";

describe("formatIssue", () => {
  it("prints file:line: path: reason and leaves out unknown parts", () => {
    expect(formatIssue({ file: "a.yaml", line: 3, path: "headquarters", message: "bad" })).toBe(
      "a.yaml:3: headquarters: bad",
    );
    expect(formatIssue({ file: "a.yaml", path: "", message: "file holds no provider" })).toBe(
      "a.yaml: file holds no provider",
    );
  });
});

describe("validateCatalogDir", () => {
  let dir = "";
  afterEach(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it("exits 1 with every error, one per line", async () => {
    dir = await mkdtemp(join(tmpdir(), "sovr-cli-"));
    await writeFile(join(dir, "a.yaml"), ACME_YAML.replace("headquarters: DE", "headquarters: EU"));
    await writeFile(join(dir, "b.yaml"), "provider: b\n");
    const result = await validateCatalogDir(dir);
    expect(result.exitCode).toBe(1);
    expect(result.lines).toEqual([
      'a.yaml:3: headquarters: "EU" is not an ISO 3166-1 alpha-2 country code',
      "b.yaml:1: name: required field is missing",
      "b.yaml:1: headquarters: required field is missing",
      "b.yaml:1: endpoints: required field is missing",
    ]);
  });

  it("exits 0 with a summary for a valid directory", async () => {
    dir = await mkdtemp(join(tmpdir(), "sovr-cli-"));
    await writeFile(join(dir, "a.yaml"), ACME_YAML);
    const result = await validateCatalogDir(dir);
    expect(result.exitCode).toBe(0);
    expect(result.lines[0]).toMatch(/1 providers, 2 endpoints, revision [0-9a-f]{64}$/);
  });
});

describe("renderEndpointTable", () => {
  it("marks assumed values with * and explains them in a legend", () => {
    const snapshot = buildSnapshot(parseCatalogFiles([file("a.yaml", ACME_YAML)]), { env: {} });
    const lines = renderEndpointTable(snapshot.endpoints).split("\n");
    expect(lines[0]).toMatch(/^ENDPOINT\s+MODEL\s+REGION\s+RETENTION\s+TRAINING\s+CACHING\s+PRICE/);
    const large = lines.find((l) => l.startsWith("acme/large"))!;
    const small = lines.find((l) => l.startsWith("acme/small"))!;
    expect(large.split(/\s{2,}/)).toEqual([
      "acme/large",
      "acme/large",
      "eu/DE",
      "30d",
      "no",
      "persistent*",
      "$2.00 / $6.00",
      "unavailable (ACME_API_KEY unset)",
    ]);
    expect(small.split(/\s{2,}/).slice(2, 6)).toEqual(["unknown*", "30d", "no", "persistent*"]);
    expect(small).toContain("available");
    expect(lines.at(-1)).toMatch(/^\* assumed: /);
  });

  it("shows the assumed worst case for an endpoint with no stated policy", () => {
    const yaml = ACME_YAML.replace(/policy:\n(?: {2}.*\n)+/, "");
    const snapshot = buildSnapshot(parseCatalogFiles([file("a.yaml", yaml)]));
    const small = renderEndpointTable(snapshot.endpoints)
      .split("\n")
      .find((l) => l.startsWith("acme/small"))!;
    expect(small.split(/\s{2,}/).slice(2, 6)).toEqual(["unknown*", "indefinite*", "yes*", "persistent*"]);
  });

  it("has no legend when nothing is assumed", () => {
    const yaml = ACME_YAML.replace(
      "  trains_on_data: false",
      "  trains_on_data: false\n  caching: none",
    ).replace("    context_length: 32768", "    context_length: 32768\n    residency: { region: us }");
    const table = renderEndpointTable(buildSnapshot(parseCatalogFiles([file("a.yaml", yaml)])).endpoints);
    expect(table).not.toContain("*");
  });
});
