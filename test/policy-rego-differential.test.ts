import { execFile } from "node:child_process";
import { mkdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { policyMix } from "../bench/lib/policy-mix.js";
import { type PolicyBundle, readBundle } from "../src/policy/bundle.js";
import { buildPolicyBundle } from "../src/policy/bundle-build.js";
import { PolicyEngine } from "../src/policy/engine.js";
import { repoRoot } from "../src/policy/opa-bin.js";
import { tempDir, variedEndpoints } from "./support/policy-bundles.js";

const run = promisify(execFile);

/**
 * The shipped policies against their sources at BASELINE (before the Rego was reworked for
 * speed, issue 19): both built with the real opa, both must decide every input alike — the
 * rework changes the cost, never a decision. Skipped outside a git checkout.
 */
const BASELINE = "b3a8fac";

let cleanup: (() => Promise<void>) | undefined;
let bundles: { old: PolicyBundle; current: PolicyBundle } | undefined;

beforeAll(async () => {
  const root = repoRoot();
  const tmp = await tempDir();
  cleanup = tmp.cleanup;
  const oldDir = join(tmp.dir, "old");
  await mkdir(oldDir);
  try {
    await run("sh", ["-c", `git -C "${root}" archive ${BASELINE} policies | tar -x -C "${oldDir}"`]);
  } catch {
    return; // not a git checkout (or the commit is not there): nothing to compare
  }
  const build = async (sourceDir: string, name: string) => {
    const outFile = join(tmp.dir, `${name}.tar.gz`);
    await buildPolicyBundle({ sourceDir, outFile });
    return readBundle(await readFile(outFile));
  };
  bundles = {
    old: await build(join(oldDir, "policies"), "old"),
    current: await build(join(root, "policies"), "current"),
  };
}, 120_000);

afterAll(() => cleanup?.());

describe("the reworked Rego against its baseline sources", () => {
  it("decides every input of the mix alike, by ids and inline", async (ctx) => {
    if (!bundles) ctx.skip();
    const eps = variedEndpoints(90);
    const engines = await Promise.all(
      [bundles!.old, bundles!.current].map(async (b) => {
        const e = new PolicyEngine({ poolSize: 1, decisionCacheSize: 0, resultMemoSize: 0 });
        await e.load(b);
        e.setCatalog(eps);
        return e;
      }),
    );
    const decide = (e: PolicyEngine, i: Parameters<PolicyEngine["evaluate"]>[0]) =>
      e.evaluate(i).then(
        (r) => r.decision,
        (err: Error) => ({ error: err.message }),
      );
    const inputs = policyMix(eps, 1500, 23);
    let denied = 0;
    for (const [n, input] of inputs.entries()) {
      // One in five inline (copies are not the loaded endpoints: replays, a swap in flight).
      const i = n % 5 === 0 ? { ...input, endpoints: input.endpoints.map((e) => structuredClone(e)) } : input;
      const want = await decide(engines[0]!, i);
      expect(await decide(engines[1]!, i), JSON.stringify(i.request)).toEqual(want);
      if ("deny" in want) denied += Object.keys(want.deny).length;
    }
    expect(denied).toBeGreaterThan(1000);
  }, 120_000);
});
