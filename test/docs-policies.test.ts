import { execFile } from "node:child_process";
import { cp, mkdir, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { repoRoot, resolveOpaBin } from "../src/policy/opa-bin.js";
import { type FencedBlock, fencedBlocks } from "./support/fenced-blocks.js";
import { POLICIES_DIR, tempDir } from "./support/policy-bundles.js";

const run = promisify(execFile);
const GUIDE = join(repoRoot(), "docs", "policies.md");

/** opa with `args`; never throws: the exit status and everything it printed. */
async function opa(args: string[]): Promise<{ ok: boolean; output: string }> {
  try {
    const { stdout, stderr } = await run(resolveOpaBin(), args);
    return { ok: true, output: `${stdout}${stderr}` };
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string; message: string };
    return { ok: false, output: `${e.stdout ?? ""}${e.stderr ?? ""}` || e.message };
  }
}

/**
 * Where a guide example goes in the policies/ tree: the file its first line names
 * (`# policies/blocklist.rego: …`), which it adds or replaces, else a file of its own.
 */
function targetOf(block: FencedBlock, index: number): string {
  const named = /^# policies\/([\w/.-]+\.rego)\b/.exec(block.text);
  return named?.[1] ?? `guide_example_${index}.rego`;
}

/**
 * Every ```rego example of docs/policies.md, dropped into a copy of policies/ the way a
 * reader following the guide would (all of them, in order), must leave `opa check` and
 * `opa test` with the shipped tests passing, its own tests included, and be `opa fmt`-clean.
 */
describe("docs/policies.md Rego examples", () => {
  const blocks = fencedBlocks(GUIDE, "rego");
  let dir: string;
  let cleanup: () => Promise<void>;
  let written: string[];

  beforeAll(async () => {
    ({ dir, cleanup } = await tempDir("sovr-guide-examples-"));
    await cp(POLICIES_DIR, dir, { recursive: true, filter: (src) => !src.includes("/dist") });
    written = [];
    for (const [i, block] of blocks.entries()) {
      const file = join(dir, targetOf(block, i));
      await mkdir(dirname(file), { recursive: true });
      await writeFile(file, block.text);
      written.push(file);
    }
  });
  afterAll(() => cleanup?.());

  it("finds the guide's examples, each a whole module", () => {
    expect(blocks.length).toBeGreaterThanOrEqual(3);
    for (const block of blocks) {
      expect(block.text, `${block.file}:${block.line}`).toMatch(/^package \S+$/m);
    }
  });

  it("passes opa check", async () => {
    const result = await opa(["check", "--ignore", "dist", dir]);
    expect(result.output).toBe("");
    expect(result.ok).toBe(true);
  });

  it("passes opa test with the shipped tests, running the guide's own tests", async () => {
    const result = await opa(["test", "--ignore", "dist", "-v", dir]);
    expect(result.output).toMatch(/PASS: \d+\/\d+/);
    expect(result.ok, result.output).toBe(true);
    const guideTests = blocks.flatMap((b) => [...b.text.matchAll(/^(test_\w+) if/gm)].map((m) => m[1]));
    expect(guideTests.length).toBeGreaterThan(0);
    for (const name of guideTests) expect(result.output).toMatch(new RegExp(`\\.${name}: PASS`));
  });

  it("is opa fmt-clean", async () => {
    const result = await opa(["fmt", "-l", ...written]);
    expect(result.output).toBe("");
    expect(result.ok).toBe(true);
  });
});
