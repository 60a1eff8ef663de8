import { execFile } from "node:child_process";
import { cp, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { POLICIES_DIR, tempDir } from "../../test/support/policy-bundles.js";
import { resolveOpaBin } from "./opa-bin.js";

const run = promisify(execFile);

/** `opa test` over a policy directory; `dist/` must be ignored (see docs/policies.md §4). */
async function opaTest(dir: string): Promise<{ ok: boolean; output: string }> {
  try {
    const { stdout } = await run(resolveOpaBin(), ["test", dir, "--ignore", "dist"]);
    return { ok: true, output: stdout };
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string };
    return { ok: false, output: `${e.stdout ?? ""}${e.stderr ?? ""}` };
  }
}

let dir: string;
let cleanup: () => Promise<void>;
beforeAll(async () => ({ dir, cleanup } = await tempDir()));
afterAll(() => cleanup?.());

describe("opa test over policies/", () => {
  it("finds every Rego file formatted as opa fmt writes it", async () => {
    // `opa fmt -l` lists the files it would change and exits 0 either way (CI runs it too).
    const { stdout } = await run(resolveOpaBin(), ["fmt", "-l", POLICIES_DIR]);
    expect(stdout).toBe("");
  });

  it("passes on the shipped policies", async () => {
    const result = await opaTest(POLICIES_DIR);
    expect(result.output).toMatch(/PASS: \d+\/\d+/);
    expect(result.ok).toBe(true);
  });

  it("catches a weakened rule even though the committed bundle still holds the old one", async () => {
    const copy = join(dir, "mutated");
    await cp(POLICIES_DIR, copy, { recursive: true }); // includes dist/bundle.tar.gz
    const lib = join(copy, "lib", "attributes.rego");
    const source = await readFile(lib, "utf8");
    expect(source).toContain("\td > 0\n");
    await writeFile(lib, source.replace("\td > 0\n", "\td > 30\n")); // 30-day retention now passes zdr
    const result = await opaTest(copy);
    expect(result.ok).toBe(false);
    expect(result.output).toMatch(/test_zdr_denies_retention_with_days_and_source/);
  });
});
