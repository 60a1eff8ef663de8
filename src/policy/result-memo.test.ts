import { type LoadedPolicy, loadPolicy } from "@open-policy-agent/opa-wasm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildVariant, tempDir, variedEndpoints } from "../../test/support/policy-bundles.js";
import { seeded } from "../../test/support/seeded.js";
import { ENTRYPOINT, type PolicyBundle, readBundle } from "./bundle.js";
import { parseDecision } from "./decision.js";
import { PolicyEngine } from "./engine.js";
import { PolicyEvaluationError } from "./errors.js";
import { ResultMemo } from "./result-memo.js";
import type { PolicyEndpointInput, PolicyInput } from "./types.js";

declare const WebAssembly: { compile(bytes: Uint8Array): Promise<object> };

let cleanup: () => Promise<void>;
let shipped: PolicyBundle;

beforeAll(async () => {
  const tmp = await tempDir();
  cleanup = tmp.cleanup;
  shipped = await readBundle((await buildVariant(tmp.dir, "shipped")).bytes);
});

afterAll(() => cleanup?.());

const RESULT = (allow: string[], problems: Record<string, unknown> = {}) =>
  JSON.stringify([{ result: { allow, checks: [["zdr: "]], keys: [null], problems } }]);

describe("ResultMemo", () => {
  it("hands out the decision parsing the same text gives, frozen, once per text, ids and known", () => {
    const memo = new ResultMemo(8);
    const text = RESULT(["a"], { b: [[0, "retains prompts"]] });
    const ids = ["a", "b"];
    const first = memo.decide(text, ids, new Set(ids), undefined, undefined);
    expect(first).toEqual(parseDecision(JSON.parse(text), ids));
    expect(Object.isFrozen(first) && Object.isFrozen(first.deny.b)).toBe(true);
    expect(memo.decide(text, [...ids], new Set(ids), undefined, undefined)).toBe(first);
    // Other candidates with the same text: parsed again (c is undecided there).
    const more = ["a", "b", "c"];
    const other = memo.decide(text, more, new Set(more), undefined, undefined);
    expect(other).toEqual(parseDecision(JSON.parse(text), more));
    expect(other.deny.c).toBeDefined();
    // Other known problems (another catalog): the memo starts over.
    expect(memo.decide(text, ids, new Set(ids), {}, undefined)).not.toBe(first);
    expect({ hits: memo.hits, misses: memo.misses }).toEqual({ hits: 1, misses: 3 });
  });

  it("keeps nothing malformed: a bad result fails every time", () => {
    const memo = new ResultMemo(8);
    for (const text of ["[{", RESULT(["x"])]) {
      for (let i = 0; i < 2; i++) {
        expect(() => memo.decide(text, ["a"], new Set(["a"]), undefined, undefined)).toThrow(
          PolicyEvaluationError,
        );
      }
    }
    expect(memo.size).toBe(0);
  });

  it("holds at most its size, dropping the least recently used", () => {
    const memo = new ResultMemo(2);
    const ids = ["a", "b"];
    const texts = [RESULT(["a"]), RESULT(["b"]), RESULT(["a", "b"])];
    const d0 = memo.decide(texts[0]!, ids, new Set(ids), undefined, undefined);
    memo.decide(texts[1]!, ids, new Set(ids), undefined, undefined);
    expect(memo.decide(texts[0]!, ids, new Set(ids), undefined, undefined)).toBe(d0); // 0 is recent now
    memo.decide(texts[2]!, ids, new Set(ids), undefined, undefined); // drops 1
    expect(memo.size).toBe(2);
    expect(memo.decide(texts[0]!, ids, new Set(ids), undefined, undefined)).toBe(d0);
    const misses = memo.misses;
    memo.decide(texts[1]!, ids, new Set(ids), undefined, undefined);
    expect(memo.misses).toBe(misses + 1);
  });

  it("size 0 keeps nothing", () => {
    const memo = new ResultMemo(0);
    const ids = ["a"];
    const a = memo.decide(RESULT(["a"]), ids, new Set(ids), undefined, undefined);
    expect(memo.decide(RESULT(["a"]), ids, new Set(ids), undefined, undefined)).not.toBe(a);
    expect(memo.size).toBe(0);
  });
});

const TENANTS = ["default", "acme-health", "bund-gov", "acme-legal", "acme-support", "local-first", "nobody"];
const PREFERENCES = [{}, { zdr: true }, { data_collection: "deny" }, { zdr: true, data_collection: "deny" }];

function randomInput(rnd: () => number, eps: PolicyEndpointInput[], i: number): PolicyInput {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
  // Four "models", each with its candidates (and one odd slice in ten).
  const odd = rnd() < 0.1;
  const start = odd ? Math.floor(rnd() * 30) : pick([0, 10, 20, 25]);
  const length = odd ? 1 + Math.floor(rnd() * 30) : 30;
  const counts: Record<string, number> = {};
  if (rnd() < 0.3) counts[pick(["email", "iban", "phone"])] = 1 + Math.floor(rnd() * 2);
  if (rnd() < 0.05) counts.secret = 1;
  return {
    request: {
      model: "acme/model-1",
      models: [],
      provider: pick(PREFERENCES),
      region: pick([null, null, "eu", "us"]),
      labels: rnd() < 0.5 ? {} : { team: pick(["a", "b"]) },
      estimated_prompt_tokens: Math.floor(rnd() * 4000),
      retention_parameters: rnd() < 0.1 ? ["store"] : [],
      modalities: rnd() < 0.1 ? ["image", "text"] : ["text"],
      operation: "chat",
      max_tokens: 256,
      parameters: ["temperature"],
      content_labels: { version: "detect-1", counts, unscannable: rnd() < 0.03 ? 1 : 0 },
    },
    principal: { tenant: pick(TENANTS), workload: "test", roles: ["client"] },
    endpoints: eps.slice(start, start + length),
    now: new Date(Date.UTC(2026, 10, 30) + i * 1000).toISOString(),
  };
}

/** opa-wasm's own `evaluate` on the whole input (endpoints inline), parsed: the reference path. */
async function referencePolicy(bundle: PolicyBundle): Promise<(input: PolicyInput) => unknown> {
  const policy: LoadedPolicy = await loadPolicy(
    (await WebAssembly.compile(bundle.wasm)) as Parameters<typeof loadPolicy>[0],
  );
  policy.setData(bundle.data);
  return (input) => {
    const ids = input.endpoints.map((e) => e.id);
    try {
      return parseDecision(policy.evaluate(input, ENTRYPOINT), ids);
    } catch (e) {
      return { error: (e as Error).message };
    }
  };
}

describe("the engine (result memo, by ids) against opa-wasm's own evaluate", () => {
  it("decides exactly as the reference path on many inputs, answering repeats from the memo", async () => {
    const eps = variedEndpoints(60);
    const reference = await referencePolicy(shipped);
    const memoised = new PolicyEngine({ poolSize: 1, decisionCacheSize: 0, resultMemoSize: 64 });
    const bare = new PolicyEngine({ poolSize: 2, decisionCacheSize: 0, resultMemoSize: 0 });
    const cached = new PolicyEngine({ poolSize: 1 });
    for (const e of [memoised, bare, cached]) {
      await e.load(shipped);
      e.setCatalog(eps);
    }
    const rnd = seeded(19);
    const inputs = Array.from({ length: 400 }, (_, i) => randomInput(rnd, eps, i));
    // Each input twice, in another order the second time.
    const order = [...inputs, ...[...inputs].reverse()];
    for (const input of order) {
      const want = reference(input);
      for (const e of [memoised, bare, cached]) {
        const got = await e.evaluate(input).then(
          (r) => r.decision,
          (err: Error) => ({ error: err.message }),
        );
        expect(got, JSON.stringify(input.request)).toEqual(want);
      }
    }
    const results = (memoised as unknown as { active: { results: ResultMemo } }).active.results;
    expect(results.hits).toBeGreaterThan(200);
    expect(results.misses).toBeGreaterThan(50);
    expect(memoised.stats.inline).toBe(0);
  });
});
