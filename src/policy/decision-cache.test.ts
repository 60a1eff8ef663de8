import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  buildVariant,
  endpoint,
  POLICIES_DIR,
  policyInput,
  tempDir,
} from "../../test/support/policy-bundles.js";
import { readBundle } from "./bundle.js";
import { listPolicySources } from "./bundle-build.js";
import { ByIdsInput } from "./decision-cache.js";
import { PolicyEngine } from "./engine.js";
import type { PolicyBundle, PolicyEndpointInput, PolicyInput } from "./index.js";
import { analyseInputUse, prunePaths } from "./input-paths.js";
import { resolveOpaBin } from "./opa-bin.js";

// Real bundles: the committed one, and variants compiled by the real opa binary.
let cleanup: () => Promise<void>;
let dir: string;
let shipped: PolicyBundle;
let clock: PolicyBundle;
let clockTimeIndependent: boolean;
let claims: PolicyBundle;

const CLOCK_RULE = `package sovereign.route

import data.sovereign.lib

deny[ep.id] contains "clock: after hours (source: assumed)" if {
	some ep in lib.endpoints
	time.now_ns() < 0
}
`;

const CLAIM_RULE = `package sovereign.route

import data.sovereign.lib

deny[ep.id] contains "claims: team not allowed (source: assumed)" if {
	some ep in lib.endpoints
	input.principal.identity.claims.team == "blocked"
}
`;

beforeAll(async () => {
  const tmp = await tempDir();
  cleanup = tmp.cleanup;
  dir = tmp.dir;
  shipped = await readBundle(await readFile(join(POLICIES_DIR, "dist", "bundle.tar.gz")));
  const built = await buildVariant(dir, "clock", { "clock.rego": CLOCK_RULE });
  clockTimeIndependent = (built as typeof built & { timeIndependent: boolean }).timeIndependent;
  clock = await readBundle(built.bytes);
  claims = await readBundle((await buildVariant(dir, "claims", { "claims.rego": CLAIM_RULE })).bytes);
});

afterAll(() => cleanup?.());

/** The catalog: compliant, retaining, unknown, non-EU country, US headquarters, local. */
function catalog(): PolicyEndpointInput[] {
  return [
    endpoint("eu"),
    endpoint("retains", { retention_days: { value: 30, source: "provider" } }),
    endpoint("unknown", {
      retention_days: { value: null, source: "assumed" },
      trains_on_data: { value: null, source: "assumed" },
      caching: { value: null, source: "assumed" },
      residency: { value: { region: null, country: null }, source: "assumed" },
    }),
    endpoint("ch", { residency: { value: { region: "eu", country: "CH" }, source: "endpoint" } }),
    endpoint("us", {
      provider_headquarters: "US",
      residency: { value: { region: "us", country: "US" }, source: "endpoint" },
    }),
    endpoint("local", { local: true, provider_headquarters: null }),
  ];
}

/** Requests that differ in what the policy reads, and in much that it does not. */
function mixedInputs(endpoints: PolicyEndpointInput[]): PolicyInput[] {
  const out: PolicyInput[] = [];
  const tenants = [
    "default",
    "acme-health",
    "bund-gov",
    "acme-legal",
    "acme-support",
    "air-gapped",
    "local-first",
  ];
  const labels: Array<PolicyInput["request"]["content_labels"]> = [
    { version: "1", counts: {}, unscannable: 0 },
    { version: "1", counts: { email: 2 }, unscannable: 0 },
    { version: "1", counts: { secret: 1 }, unscannable: 0 },
    { version: "1", counts: {}, unscannable: 1 },
    null,
  ];
  let n = 0;
  for (const tenant of tenants)
    for (const provider of [{}, { zdr: true }, { data_collection: "deny", sort: "price" }])
      for (const region of [null, "eu"])
        for (const content of labels) {
          const input = policyInput(endpoints.slice(n % 2), { tenant, provider, region });
          input.request.content_labels = content;
          input.request.estimated_prompt_tokens = 100 + n;
          input.request.labels = { run: String(n) };
          input.request.retention_parameters = n % 3 === 0 ? ["store"] : [];
          input.request.modalities = n % 4 === 0 ? ["image", "text"] : ["text"];
          input.principal.identity = { kind: "api_key", subject: `key-${n % 5}`, claims: {} };
          input.now = new Date(Date.UTC(2026, 10, 30) + n * 1000).toISOString();
          out.push(input);
          n++;
        }
  return out;
}

async function engine(bundle: PolicyBundle, decisionCacheSize?: number): Promise<PolicyEngine> {
  const e = new PolicyEngine({ poolSize: 1, decisionCacheSize });
  await e.load(bundle);
  return e;
}

describe("the decision cache", () => {
  it("gives the decisions evaluating every time gives, for the same reduced input, bundle and catalog", async () => {
    expect(shipped.manifest.metadata?.sovereign_router).toMatchObject({ time_independent: true });
    const endpoints = catalog();
    const cold = await engine(shipped, 0);
    const cached = await engine(shipped);
    const inline = await engine(shipped, 0);
    cold.setCatalog(endpoints);
    cached.setCatalog(endpoints);
    expect(cold.uncachedBecause).toBe("the decision cache is off");
    expect(cached.uncachedBecause).toBeUndefined();
    const inputs = mixedInputs(endpoints);
    let hits = 0;
    // Twice: the second round is answered from the cache, with the same decisions.
    for (const round of [1, 2]) {
      for (const input of inputs) {
        const want = await cold.evaluate(input);
        const got = await cached.evaluate(input);
        // Copies of the endpoints go inline, evaluated every time on the full input.
        const copies = { ...input, endpoints: input.endpoints.map((e) => structuredClone(e)) };
        expect((await inline.evaluate(copies)).decision).toEqual(want.decision);
        expect(got.decision, `round ${round}: ${JSON.stringify(input.request)}`).toEqual(want.decision);
        expect(got.bundle).toEqual(want.bundle);
        if (got.cached) hits++;
      }
    }
    expect(hits).toBeGreaterThanOrEqual(inputs.length);
    expect(cached.decisionCache).toMatchObject({ hits });
    expect(inline.stats.byIds).toBe(0);
    expect(cached.stats).toMatchObject({ byIds: inputs.length * 2, inline: 0 });
  });

  it("hands out frozen decisions", async () => {
    const e = await engine(shipped);
    const endpoints = catalog();
    e.setCatalog(endpoints);
    const input = policyInput(endpoints, { provider: { zdr: true } });
    expect((await e.evaluate(input)).cached).toBeUndefined();
    const hit = await e.evaluate({ ...input, now: "2026-12-01T00:00:00Z" });
    expect(hit.cached).toBe(true);
    expect(Object.isFrozen(hit.decision) && Object.isFrozen(hit.decision.deny.retains)).toBe(true);
    expect(() => hit.decision.allow.push("x")).toThrow(TypeError);
  });

  it("forgets decisions when the catalog changes", async () => {
    const e = await engine(shipped);
    const v1 = [endpoint("a"), endpoint("b")];
    const v2 = [endpoint("a", { retention_days: { value: 30, source: "provider" } }), endpoint("b")];
    e.setCatalog(v1);
    const zdr = { provider: { zdr: true } };
    expect((await e.evaluate(policyInput(v1, zdr))).decision.allow).toEqual(["a", "b"]);
    expect((await e.evaluate(policyInput(v1, zdr))).cached).toBe(true);
    e.setCatalog(v2);
    const after = await e.evaluate(policyInput(v2, zdr));
    expect(after.cached).toBeUndefined();
    expect(after.decision.deny).toEqual({
      a: ["zdr: endpoint retains prompts for 30 days (source: provider)"],
    });
  });

  it("keys on what the bundle reads: a rule reading an identity claim sees it", async () => {
    expect(claims.manifest.metadata?.sovereign_router).toMatchObject({ time_independent: true });
    const e = await engine(claims);
    const endpoints = [endpoint("a")];
    e.setCatalog(endpoints);
    const as = (team: string) => {
      const input = policyInput(endpoints);
      input.principal.identity = { kind: "jwt", subject: "u", claims: { team } };
      return input;
    };
    for (let i = 0; i < 2; i++) {
      expect((await e.evaluate(as("blocked"))).decision.allow).toEqual([]);
      expect((await e.evaluate(as("ok"))).decision.allow).toEqual(["a"]);
    }
    expect(e.decisionCache).toMatchObject({ hits: 2, misses: 2 });
  });

  it("refuses to cache a bundle that reads the clock, even if its manifest says otherwise", async () => {
    expect(clockTimeIndependent).toBe(false);
    expect(clock.manifest.metadata?.sovereign_router).not.toHaveProperty("time_independent");
    const undeclared = await engine(clock);
    expect(undeclared.uncachedBecause).toBe("the bundle is not declared time-independent");
    // A manifest that claims it anyway: the compiled Wasm imports time.now_ns.
    const marker = clock.manifest.metadata?.sovereign_router as object;
    const lying = {
      ...clock,
      manifest: { ...clock.manifest, metadata: { sovereign_router: { ...marker, time_independent: true } } },
    };
    const e = await engine(lying);
    expect(e.uncachedBecause).toBe("the Wasm module calls time.now_ns");
    expect(e.decisionCache).toBeUndefined();
    const endpoints = [endpoint("a")];
    e.setCatalog(endpoints);
    // (opa-wasm has no time.now_ns either: the evaluation fails, closed, every time.)
    for (let i = 0; i < 2; i++)
      await expect(e.evaluate(policyInput(endpoints))).rejects.toThrow(/time\.now_ns/);
  });

  it("refuses to cache a bundle that declares no input paths", async () => {
    const marker = { ...(shipped.manifest.metadata?.sovereign_router as Record<string, unknown>) };
    delete marker.decision_input;
    const e = await engine({
      ...shipped,
      manifest: { ...shipped.manifest, metadata: { sovereign_router: marker } },
    });
    expect(e.uncachedBecause).toBe("the bundle declares no input paths");
  });
});

describe("how the input names the candidates", () => {
  const a = endpoint("a");
  const b = endpoint("b");
  const byId = new Map([
    ["a", a],
    ["b", b],
  ]);
  const named = {
    byId,
    at: new Map([
      [a, 0],
      [b, 1],
    ]),
  };
  const input = policyInput([b, a]);

  it("by position in the loaded catalog's ids for the shipped bundle (its manifest's endpoint_at)", () => {
    const by = new ByIdsInput(shipped);
    expect(by.positions).toBe(true);
    const sent = by.candidates(named, input.endpoints, ["b", "a"]);
    expect(sent).toEqual([1, 0]);
    const json = JSON.parse(by.json(input, sent!)) as Record<string, unknown>;
    expect(json.endpoint_at).toEqual([1, 0]);
    expect(json).not.toHaveProperty("endpoint_ids");
    expect(json).not.toHaveProperty("endpoints");
    // A copy of a catalog endpoint is not the endpoint loaded: no position, the input goes inline.
    expect(by.candidates(named, [{ ...b }, a], ["b", "a"])).toBeUndefined();
  });

  it("by id for a bundle whose manifest does not say endpoint_at (built before positions)", () => {
    const sovereign_router = { ...(shipped.manifest.metadata?.sovereign_router as object) } as Record<
      string,
      unknown
    >;
    delete sovereign_router.endpoint_at;
    sovereign_router.decision_input = (sovereign_router.decision_input as string[][]).map((p) =>
      p[0] === "endpoint_at" ? ["endpoint_ids"] : p,
    );
    const older = { ...shipped, manifest: { ...shipped.manifest, metadata: { sovereign_router } } };
    const by = new ByIdsInput(older);
    expect(by.positions).toBe(false);
    const sent = by.candidates(named, input.endpoints, ["b", "a"]);
    expect(sent).toEqual(["b", "a"]);
    const json = JSON.parse(by.json(input, sent!)) as Record<string, unknown>;
    expect(json.endpoint_ids).toEqual(["b", "a"]);
    expect(json).not.toHaveProperty("endpoint_at");
    expect(by.candidates(named, [{ ...b }, a], ["b", "a"])).toBeUndefined();
  });
});

describe("analyseInputUse", () => {
  it("finds what the shipped rules read of the input: neither the clock nor the identity", async () => {
    const sources = (await listPolicySources(POLICIES_DIR)).filter((s) => s.endsWith(".rego"));
    const use = await analyseInputUse(resolveOpaBin(), POLICIES_DIR, sources);
    expect(use.nondeterministic).toEqual([]);
    expect(use.paths).toContainEqual(["principal", "tenant"]);
    expect(use.paths).toContainEqual(["endpoint_at"]);
    expect(use.paths).toContainEqual(["request", "content_labels"]);
    expect(use.paths?.some((p) => p[0] === "now" || p.includes("identity"))).toBe(false);
  });

  it("counts a computed key or the whole input as reading everything below", async () => {
    const { writeFile } = await import("node:fs/promises");
    await writeFile(
      join(dir, "a.rego"),
      "package a\n\nx := input.request[k] if k := input.principal.tenant\n",
    );
    await writeFile(
      join(dir, "b.rego"),
      'package b\n\nimport input.now as n\n\ny := count(input)\n\nz := rand.intn("s", 3)\n',
    );
    const a = await analyseInputUse(resolveOpaBin(), dir, ["a.rego"]);
    expect(a.paths).toEqual([["principal", "tenant"], ["request"]]);
    const b = await analyseInputUse(resolveOpaBin(), dir, ["b.rego"]);
    expect(b).toEqual({ paths: null, nondeterministic: ["rand.intn"] });
    expect(prunePaths([["a", "b"], ["a"], ["c"], ["a", "c"]])).toEqual([["a"], ["c"]]);
  });
});
