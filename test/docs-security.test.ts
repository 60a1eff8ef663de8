import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";

const REPO = join(import.meta.dirname, "..");

/**
 * docs/security.md backs each statement of its threat model, and docs/architecture.md each
 * invariant, with a test it names: a named test file that was moved or deleted leaves a
 * statement unbacked, so it fails here.
 */
describe.each(["docs/security.md", "docs/architecture.md"])("%s", (page) => {
  it("names only test files that exist", () => {
    const doc = readFileSync(join(REPO, page), "utf8");
    const named = [...new Set(doc.match(/(?:test|src)\/[\w./-]+\.test\.ts/g) ?? [])];
    expect(named.length).toBeGreaterThan(5);
    expect(named.filter((f) => !existsSync(join(REPO, f)))).toEqual([]);
  });
});
