import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { loadPolicy } from "@open-policy-agent/opa-wasm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  buildVariant,
  endpoint,
  POLICIES_DIR,
  policyInput,
  tempDir,
  variedEndpoints,
} from "../../test/support/policy-bundles.js";
import { readBundle } from "./bundle.js";
import { ATTRIBUTE_KEYS_ENTRYPOINT, attributeKeys, catalogProblems } from "./endpoint-access.js";
import { PolicyEngine } from "./engine.js";
import type { PolicyBundle } from "./index.js";

/**
 * The request-independent attributes' keys, loaded with the catalog (lib.attribute_keys,
 * docs/policies.md §9): by id, a check's key is one lookup instead of a walk over every
 * tenant's attributes. Here with the real opa build and the compiled Wasm.
 */
let tmp: Awaited<ReturnType<typeof tempDir>>;
let manyTenants: PolicyBundle;
const TENANTS = 40;

beforeAll(async () => {
  tmp = await tempDir();
  const data = JSON.parse(await readFile(join(POLICIES_DIR, "data.json"), "utf8")) as {
    tenants: Record<string, unknown>;
  };
  // Forty more tenants, each with its own allowed headquarters (one attribute each).
  for (let i = 0; i < TENANTS; i++)
    data.tenants[`hq-${i}`] = { allowed_headquarters: ["de", "FR", `X${i}`], require_zdr: i % 2 === 0 };
  manyTenants = await readBundle(
    (await buildVariant(tmp.dir, "many-tenants", { "data.json": JSON.stringify(data) })).bytes,
  );
}, 120_000);

afterAll(() => tmp?.cleanup());

describe("attribute keys loaded with the catalog", () => {
  it("are built as an entrypoint and map each attribute's JSON to its index, in the compiled Wasm", async () => {
    const policy = await loadPolicy(manyTenants.wasm);
    expect(Object.keys(policy.entrypoints)).toContain(ATTRIBUTE_KEYS_ENTRYPOINT);
    policy.setData(manyTenants.data);
    const keys = attributeKeys(policy)!;
    // retention, caching, training, residency in eu, and one headquarters attribute per list.
    expect(Object.keys(keys)).toHaveLength(4 + 1 + TENANTS);
    expect(Object.values(keys).sort((a, b) => a - b)).toEqual([...Array(5 + TENANTS).keys()]);
    expect(keys['"retention"']).toBe(0);
    expect(keys['["residency","eu"]']).toBe(3);
  });

  it("by position, every known check's key is found in them (the set inside a headquarters attribute too)", async () => {
    const policy = await loadPolicy(manyTenants.wasm);
    policy.setData(manyTenants.data);
    const catalog = [endpoint("a"), endpoint("b", { provider_headquarters: "US" })];
    const problems = catalogProblems(catalog, policy)!;
    const keys = attributeKeys(policy)!;
    const byIds = (tenant: string, attributeKeysLoaded: boolean) => {
      policy.setData({
        ...(manyTenants.data as object),
        catalog: {
          ids: catalog.map((e) => e.id),
          endpoints: Object.fromEntries(catalog.map((e) => [e.id, e])),
          problems_at: catalog.map((e) => problems[e.id]),
          ...(attributeKeysLoaded ? { attribute_keys: keys } : {}),
        },
      });
      const { endpoints, ...rest } = policyInput(catalog, { tenant, region: "eu" });
      const input = { ...rest, endpoint_at: endpoints.map((_, i) => i) };
      return (policy.evaluate(input, "sovereign/route") as [{ result: Record<string, unknown> }])[0].result;
    };
    for (const tenant of ["hq-0", "hq-7", "hq-39", "bund-gov"]) {
      const loaded = byIds(tenant, true);
      // zdr (two checks) for even tenants, residency, headquarters: all known, none examined.
      expect(loaded.keys, tenant).not.toContain(null);
      expect(loaded).toEqual(byIds(tenant, false));
      expect(loaded.allow).toEqual([0]);
    }
  });

  it("decide by ids exactly as inline, for many tenants and candidates", async () => {
    const catalog = variedEndpoints(24);
    const inline = new PolicyEngine({ poolSize: 1, decisionCacheSize: 0, resultMemoSize: 0 });
    const byIds = new PolicyEngine({ poolSize: 1, decisionCacheSize: 0, resultMemoSize: 0 });
    await inline.load(manyTenants);
    await byIds.load(manyTenants);
    byIds.setCatalog(catalog);
    for (const tenant of ["default", "bund-gov", "hq-0", "hq-1", "hq-38", "hq-39"])
      for (const region of [null, "eu", "us"])
        for (const provider of [{}, { zdr: true }]) {
          const input = policyInput(catalog, { tenant, region, provider });
          const a = await inline.evaluate(input);
          const b = await byIds.evaluate(input);
          expect(b.decision, `${tenant} ${region} ${JSON.stringify(provider)}`).toEqual(a.decision);
        }
    expect(byIds.stats.inline).toBe(0);
  });
});
