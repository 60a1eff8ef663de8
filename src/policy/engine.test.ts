import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  BLOCK_PROVIDER_RULE,
  BLOCK_PROVIDER_RULE_LIB,
  buildVariant,
  endpoint,
  policyInput,
  tempDir,
} from "../../test/support/policy-bundles.js";
import { readBundle } from "./bundle.js";
import { PolicyEngine } from "./engine.js";
import { PolicyEvaluationError, PolicyUnavailableError } from "./errors.js";
import type { BuiltBundle, PolicyBundle, PolicyEndpointInput } from "./index.js";

// Real bundles, compiled once for the suite by the real opa binary.
let cleanup: () => Promise<void>;
let shipped: PolicyBundle;
let withBlocklist: PolicyBundle;
let withBlocklistBuild: Pick<BuiltBundle, "endpointIds" | "endpointAccessProblems">;
let withBlocklistLib: PolicyBundle;
let malformed: PolicyBundle;
let conflicting: PolicyBundle;

beforeAll(async () => {
  const tmp = await tempDir();
  cleanup = tmp.cleanup;
  shipped = await readBundle((await buildVariant(tmp.dir, "shipped")).bytes);
  const blocklist = await buildVariant(tmp.dir, "blocklist", { "blocklist.rego": BLOCK_PROVIDER_RULE });
  withBlocklistBuild = blocklist;
  withBlocklist = await readBundle(blocklist.bytes);
  withBlocklistLib = await readBundle(
    (await buildVariant(tmp.dir, "blocklist-lib", { "blocklist.rego": BLOCK_PROVIDER_RULE_LIB })).bytes,
  );
  // allow names an endpoint that is also denied, and a deny carries no reason.
  malformed = await readBundle(
    (
      await buildVariant(tmp.dir, "malformed", {
        "route.rego": `package sovereign.route\n\nallow contains ep.id if {\n\tsome ep in input.endpoints\n}\n`,
      })
    ).bytes,
  );
  // Two values for one complete rule: a runtime error inside the Wasm module.
  conflicting = await readBundle(
    (
      await buildVariant(tmp.dir, "conflict", {
        "conflict.rego": `package sovereign.route\n\nbroken := x if {\n\tsome x in input.request.models\n}\n`,
      })
    ).bytes,
  );
});

afterAll(() => cleanup?.());

async function engineWith(bundle: PolicyBundle, poolSize = 2): Promise<PolicyEngine> {
  const engine = new PolicyEngine({ poolSize });
  await engine.load(bundle);
  return engine;
}

describe("PolicyEngine with the shipped policies", () => {
  it("refuses to evaluate without a bundle", async () => {
    await expect(new PolicyEngine().evaluate(policyInput([endpoint("a")]))).rejects.toBeInstanceOf(
      PolicyUnavailableError,
    );
  });

  it("allows everything when the request asks for nothing, in candidate order", async () => {
    const engine = await engineWith(shipped);
    const ids = ["c", "a", "b"];
    const result = await engine.evaluate(
      policyInput(ids.map((id) => endpoint(id, { provider_headquarters: "US" }))),
    );
    // Nothing asked for, nothing checked: the policy states it applied no check.
    expect(result.decision).toEqual({ allow: ids, deny: {}, permittedParameters: [], applied: [] });
    expect(result.bundle).toEqual(shipped.ref);
    expect(result.evalMicros).toBeGreaterThan(0);
  });

  it("zdr: denies retention with the source, treats null as indefinite, allows in-memory caching", async () => {
    const engine = await engineWith(shipped);
    const { decision } = await engine.evaluate(
      policyInput(
        [
          endpoint("zdr"),
          endpoint("retains", { retention_days: { value: 30, source: "provider" } }),
          endpoint("unknown", { retention_days: { value: null, source: "assumed" } }),
          endpoint("cached", { caching: { value: "persistent", source: "endpoint" } }),
        ],
        { provider: { zdr: true } },
      ),
    );
    expect(decision.allow).toEqual(["zdr"]);
    expect(decision.deny).toEqual({
      retains: ["zdr: endpoint retains prompts for 30 days (source: provider)"],
      unknown: ["zdr: retention unknown, assumed indefinite (source: assumed)"],
      cached: ["zdr: endpoint caches prompts persistently (source: endpoint)"],
    });
  });

  it("data_collection deny: denies training and unknown training", async () => {
    const engine = await engineWith(shipped);
    const { decision } = await engine.evaluate(
      policyInput(
        [
          endpoint("clean"),
          endpoint("trains", { trains_on_data: { value: true, source: "provider" } }),
          endpoint("maybe", { trains_on_data: { value: null, source: "assumed" } }),
        ],
        { provider: { data_collection: "deny" } },
      ),
    );
    expect(decision.allow).toEqual(["clean"]);
    expect(decision.deny.trains).toEqual(["data_collection: endpoint trains on prompts (source: provider)"]);
    expect(decision.deny.maybe).toEqual([
      "data_collection: training unknown, assumed to train on prompts (source: assumed)",
    ]);
  });

  it("residency eu: EU/EEA countries only, fails closed on unknown residency", async () => {
    const engine = await engineWith(shipped);
    const { decision } = await engine.evaluate(
      policyInput(
        [
          endpoint("fr"),
          endpoint("no", { residency: { value: { region: "eu", country: "NO" }, source: "endpoint" } }),
          endpoint("us", { residency: { value: { region: "us", country: "US" }, source: "endpoint" } }),
          endpoint("ch", { residency: { value: { region: "eu", country: "CH" }, source: "provider" } }),
          endpoint("unknown", { residency: { value: { region: null, country: null }, source: "assumed" } }),
        ],
        { region: "eu" },
      ),
    );
    expect(decision.allow).toEqual(["fr", "no"]);
    expect(decision.deny).toEqual({
      us: ["residency: endpoint processed in region us (country US), eu required (source: endpoint)"],
      ch: ["residency: endpoint processed in CH, not a country of region eu (source: provider)"],
      unknown: ["residency: residency unknown, matches no region; eu required (source: assumed)"],
    });
  });

  it("tenant rules from data.json apply whatever the request asks", async () => {
    const engine = await engineWith(shipped);
    const health = await engine.evaluate(
      policyInput(
        [
          endpoint("ok"),
          endpoint("us", { residency: { value: { region: "us", country: "US" }, source: "endpoint" } }),
        ],
        {
          tenant: "acme-health",
        },
      ),
    );
    expect(health.decision.allow).toEqual(["ok"]);
    expect(health.decision.deny.us).toEqual([
      "tenant acme-health: residency: endpoint processed in region us (country US), eu required (source: endpoint)",
    ]);
    const gov = await engine.evaluate(
      policyInput([endpoint("de"), endpoint("us", { provider: "openai", provider_headquarters: "US" })], {
        tenant: "bund-gov",
      }),
    );
    expect(gov.decision.allow).toEqual(["de"]);
    expect(gov.decision.deny.us?.[0]).toMatch(
      /^tenant bund-gov: headquarters: provider openai headquartered in US/,
    );
  });

  it("local_only and prefer_local from the tenant's data: remote endpoints excluded, local first asked for", async () => {
    const engine = await engineWith(shipped);
    const eps = [endpoint("here", { local: true }), endpoint("there", { local: false })];
    const gapped = await engine.evaluate(policyInput(eps, { tenant: "air-gapped" }));
    expect(gapped.decision.allow).toEqual(["here"]);
    expect(gapped.decision.deny.there).toEqual([
      "tenant air-gapped: local_only: endpoint is remote: not in-process, not on a loopback or private address (source: catalog)",
    ]);
    expect(gapped.decision.preferLocal).toBeUndefined();
    const first = await engine.evaluate(policyInput(eps, { tenant: "local-first" }));
    expect(first.decision.allow).toEqual(["here", "there"]);
    expect(first.decision.preferLocal).toBe(true);
  });

  it("rejects candidate lists with duplicate ids", async () => {
    const engine = await engineWith(shipped);
    await expect(engine.evaluate(policyInput([endpoint("a"), endpoint("a")]))).rejects.toMatchObject({
      name: "PolicyEvaluationError",
      kind: "input",
    });
  });

  it("fails closed when the time budget is exceeded", async () => {
    const engine = new PolicyEngine({ timeBudgetMicros: 0 });
    await engine.load(shipped);
    const err = await engine.evaluate(policyInput([endpoint("a")])).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PolicyEvaluationError);
    expect((err as PolicyEvaluationError).kind).toBe("timeout");
  });

  it("turns malformed policy output into a typed error", async () => {
    const engine = await engineWith(malformed);
    const input = policyInput([endpoint("a", { retention_days: { value: 1, source: "endpoint" } })], {
      provider: { zdr: true },
    });
    await expect(engine.evaluate(input)).rejects.toMatchObject({ kind: "malformed" });
  });

  it("turns a runtime error of the policy into a typed error", async () => {
    const engine = await engineWith(conflicting);
    const input = { ...policyInput([endpoint("a")]) };
    input.request = { ...input.request, models: ["x", "y"] };
    await expect(engine.evaluate(input)).rejects.toMatchObject({
      name: "PolicyEvaluationError",
      kind: "error",
    });
    // The instance is returned to the pool and keeps working.
    input.request = { ...input.request, models: [] };
    expect((await engine.evaluate(input)).decision.allow).toEqual(["a"]);
  });
});

describe("PolicyEngine pool and swaps", () => {
  it("serves many concurrent evaluations from a small pool, each with its own answer", async () => {
    const engine = await engineWith(shipped, 2);
    const inputs = Array.from({ length: 64 }, (_, i) =>
      policyInput(
        [endpoint(`ok-${i}`), endpoint(`bad-${i}`, { retention_days: { value: i + 1, source: "endpoint" } })],
        { provider: { zdr: i % 2 === 0 } },
      ),
    );
    const results = await Promise.all(inputs.map((input) => engine.evaluate(input)));
    results.forEach((r, i) => {
      if (i % 2 === 0) {
        expect(r.decision.allow).toEqual([`ok-${i}`]);
        expect(r.decision.deny[`bad-${i}`]).toEqual([
          `zdr: endpoint retains prompts for ${i + 1} days (source: endpoint)`,
        ]);
      } else {
        expect(r.decision.allow).toEqual([`ok-${i}`, `bad-${i}`]);
      }
    });
  });

  it("swaps bundles atomically: started evaluations finish on their bundle, later ones use the new one", async () => {
    const engine = await engineWith(shipped, 1);
    const input = policyInput([endpoint("a", { provider: "blocked-ai" })]);
    const prepared = await engine.prepare(withBlocklist);
    // Started before the swap: they captured the old pool (one instance, so two of them wait).
    const inFlight = [engine.evaluate(input), engine.evaluate(input), engine.evaluate(input)];
    engine.activate(prepared);
    const after = engine.evaluate(input);
    for (const r of await Promise.all(inFlight)) {
      expect(r.bundle).toEqual(shipped.ref);
      expect(r.decision.allow).toEqual(["a"]);
    }
    const swapped = await after;
    expect(swapped.bundle).toEqual(withBlocklist.ref);
    expect(engine.current).toEqual(withBlocklist.ref);
    expect(swapped.decision.deny.a).toEqual(["blocklist: provider blocked-ai is blocked (source: provider)"]);
  });

  it("does not change the active bundle when preparing one fails", async () => {
    const engine = await engineWith(shipped);
    const broken: PolicyBundle = { ...withBlocklist, wasm: new Uint8Array([0, 97, 115, 109, 9, 9]) };
    await expect(engine.load(broken)).rejects.toMatchObject({ name: "PolicyBundleError" });
    expect(engine.current).toEqual(shipped.ref);
  });
});

describe("PolicyEngine with the catalog's endpoints as data", () => {
  /** Endpoints covering every attribute case the shipped rules distinguish. */
  function catalogEndpoints(): PolicyEndpointInput[] {
    const variants: Array<Partial<PolicyEndpointInput>> = [
      {},
      { retention_days: { value: 30, source: "provider" } },
      { retention_days: { value: null, source: "assumed" } },
      { retention_days: { value: -1, source: "endpoint" } },
      { caching: { value: "persistent", source: "endpoint" } },
      { caching: { value: null, source: "assumed" } },
      { caching: { value: "none", source: "endpoint" } },
      { trains_on_data: { value: true, source: "provider" } },
      { trains_on_data: { value: null, source: "assumed" } },
      { residency: { value: { region: "us", country: "US" }, source: "endpoint" } },
      { residency: { value: { region: "eu", country: "CH" }, source: "provider" } },
      { residency: { value: { region: null, country: null }, source: "assumed" } },
      { residency: { value: { region: "EU", country: null }, source: "endpoint" } },
      { provider: "openai", provider_headquarters: "US" },
      { provider_headquarters: "" },
      { provider_headquarters: "fr" },
    ];
    return variants.map((v, i) => endpoint(`ep-${i}`, v));
  }
  const requests: Array<Parameters<typeof policyInput>[1]> = [
    {},
    { provider: { zdr: true } },
    { provider: { data_collection: "deny" } },
    { region: "eu" },
    { region: "us" },
    { tenant: "acme-health" },
    { tenant: "bund-gov", provider: { zdr: true } },
    { tenant: "acme-health", region: "eu", provider: { zdr: true, data_collection: "deny" } },
  ];

  it("decides by endpoint ids exactly as with the endpoints inline, loading the catalog once per instance", async () => {
    const catalog = catalogEndpoints();
    const inline = await engineWith(shipped);
    const byIds = await engineWith(shipped);
    expect(byIds.takesEndpointIds).toBe(true);
    byIds.setCatalog(catalog);
    expect(byIds.stats.catalogLoads).toBe(2); // the pool's two instances, at once
    for (const opts of requests) {
      for (const candidates of [catalog, catalog.slice(3, 9), [catalog[0]!], []]) {
        const a = await inline.evaluate(policyInput(candidates, opts));
        const b = await byIds.evaluate(policyInput(candidates, opts));
        expect(b.decision, JSON.stringify(opts)).toEqual(a.decision);
      }
    }
    expect(inline.stats.byIds).toBe(0);
    expect(byIds.stats).toEqual({ byIds: requests.length * 4, inline: 0, catalogLoads: 2 });
  });

  it("sends copies of catalog endpoints inline: a candidate must be the very object loaded", async () => {
    const catalog = catalogEndpoints();
    const engine = await engineWith(shipped, 1);
    engine.setCatalog(catalog);
    // Same id, other attributes: must be judged on what the request carries.
    const changed = { ...catalog[0]!, retention_days: { value: 7, source: "endpoint" as const } };
    const r = await engine.evaluate(policyInput([changed, catalog[1]!], { provider: { zdr: true } }));
    expect(r.decision.deny[changed.id]).toEqual([
      "zdr: endpoint retains prompts for 7 days (source: endpoint)",
    ]);
    expect(engine.stats).toMatchObject({ byIds: 0, inline: 1 });
  });

  it("swaps catalogs atomically: evaluations built on the old catalog are decided on its endpoints", async () => {
    const v1 = [endpoint("a"), endpoint("b")];
    const v2 = [endpoint("a", { retention_days: { value: 30, source: "provider" } }), endpoint("b")];
    const engine = await engineWith(shipped, 1);
    engine.setCatalog(v1);
    const zdr = { provider: { zdr: true } };
    // Started on v1; with one instance, two of them wait for it while the catalog changes.
    const inFlight = [engine.evaluate(policyInput(v1, zdr)), engine.evaluate(policyInput(v1, zdr))];
    engine.setCatalog(v2);
    const later = engine.evaluate(policyInput(v2, zdr));
    for (const r of await Promise.all(inFlight))
      expect(r.decision).toEqual({
        allow: ["a", "b"],
        deny: {},
        permittedParameters: [],
        applied: ["zdr: "],
      });
    expect((await later).decision).toEqual({
      allow: ["b"],
      deny: { a: ["zdr: endpoint retains prompts for 30 days (source: provider)"] },
      permittedParameters: [],
      applied: ["zdr: "],
    });
    // Both in-flight ones reached the instance after the swap, so they went inline.
    expect(engine.stats).toEqual({ byIds: 1, inline: 2, catalogLoads: 2 });
    // A request still holding v1 after the swap is decided on v1, inline.
    expect((await engine.evaluate(policyInput(v1, zdr))).decision.allow).toEqual(["a", "b"]);
  });

  it("names the candidates by position in the catalog the instance holds, not the one of the time a request came", async () => {
    // The same endpoint objects in another order: the request's candidates stay by position,
    // their positions change. With the decision cache on, the input is made before the wait.
    const a = endpoint("a", { retention_days: { value: 30, source: "provider" } });
    const b = endpoint("b");
    const c = endpoint("c");
    const engine = new PolicyEngine({ poolSize: 1, decisionCacheSize: 64 });
    await engine.load(shipped);
    engine.setCatalog([a, b, c]);
    const zdr = { provider: { zdr: true } };
    const inFlight = engine.evaluate(policyInput([a, b], zdr));
    engine.setCatalog([c, b, a]);
    const expected = {
      allow: ["b"],
      deny: { a: ["zdr: endpoint retains prompts for 30 days (source: provider)"] },
      permittedParameters: [],
      applied: ["zdr: "],
    };
    expect((await inFlight).decision).toEqual(expected);
    expect((await engine.evaluate(policyInput([a, b], zdr))).decision).toEqual(expected);
    expect((await engine.evaluate(policyInput([c, a], zdr))).decision.allow).toEqual(["c"]);
    expect(engine.stats).toMatchObject({ byIds: 3, inline: 0 });
  });

  it("loads the catalog into a prepared bundle's instances before it serves", async () => {
    const catalog = catalogEndpoints();
    const engine = await engineWith(shipped, 2);
    engine.setCatalog(catalog);
    const prepared = await engine.prepare(withBlocklistLib);
    expect(engine.stats.catalogLoads).toBe(4);
    engine.activate(prepared);
    const blocked = endpoint("blocked", { provider: "blocked-ai" });
    engine.setCatalog([...catalog, blocked]);
    for (let i = 0; i < 20; i++) {
      const r = await engine.evaluate(policyInput([catalog[0]!, blocked]));
      expect(r.decision.deny.blocked).toEqual([
        "blocklist: provider blocked-ai is blocked (source: provider)",
      ]);
    }
    // Per catalog revision and instance, never per request.
    expect(engine.stats).toMatchObject({ byIds: 20, inline: 0, catalogLoads: 6 });
  });

  it("keeps a bundle whose rules read input.endpoints on inline endpoints, where its rules still apply", async () => {
    expect(withBlocklistBuild.endpointIds).toBe(false);
    expect(withBlocklistBuild.endpointAccessProblems).toEqual([
      "blocklist.rego: reads input.endpoints; read the candidates through lib.endpoints",
    ]);
    const engine = await engineWith(withBlocklist, 1);
    expect(engine.takesEndpointIds).toBe(false);
    const catalog = [endpoint("ok"), endpoint("blocked", { provider: "blocked-ai" })];
    engine.setCatalog(catalog);
    const r = await engine.evaluate(policyInput(catalog));
    expect(r.decision.deny.blocked).toEqual(["blocklist: provider blocked-ai is blocked (source: provider)"]);
    expect(engine.stats).toEqual({ byIds: 0, inline: 1, catalogLoads: 0 });
  });
});
