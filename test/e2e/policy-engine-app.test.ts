/**
 * The live server keeps the catalog's endpoints in its policy instances' data: requests are
 * evaluated by endpoint ids, a catalog change is loaded once per instance, and decisions
 * follow the new catalog from the next request on.
 */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RouteRequest } from "../../src/routing/types.js";
import { REPO, startTestApp, type TestApp } from "../support/app.js";

const principal = { tenant: "default", workload: "test", roles: ["client"], keyId: "", allTenants: false };
const request: RouteRequest = {
  model: "sim/chat-small",
  models: [],
  messages: [{ role: "user", content: "hello" }],
  provider: { allowFallbacks: true, zdr: true },
  region: null,
  labels: {},
  workload: "test",
};

describe("the live server's policy engine and catalog", () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
  }, 60_000);
  afterAll(() => t?.close());

  async function usReasons(): Promise<string[]> {
    const decision = await t.app.router.decide(request, principal, { record: false });
    const text = JSON.stringify(decision, (_, v) => (typeof v === "bigint" ? String(v) : v));
    return text.match(/zdr: [^"]*/g) ?? [];
  }

  it("evaluates by endpoint ids and reloads the catalog data once per instance when it changes", async () => {
    const engine = t.app.policy;
    expect(engine.takesEndpointIds).toBe(true);
    const start = { ...engine.stats };
    expect(await usReasons()).toContain("zdr: endpoint retains prompts for 30 days (source: provider)");
    expect(await usReasons()).toContain("zdr: endpoint retains prompts for 30 days (source: provider)");
    expect(engine.stats.byIds - start.byIds).toBe(2);
    expect(engine.stats.inline).toBe(start.inline);
    expect(engine.stats.catalogLoads).toBe(start.catalogLoads);

    const file = join(REPO, "test/fixtures/catalog/simulator.yaml");
    const content = (await readFile(file, "utf8")).replace("retention_days: 30", "retention_days: 7");
    const { changed } = await t.app.catalog.apply([{ name: "simulator.yaml", content }]);
    expect(changed).toBe(true);
    expect(engine.stats.catalogLoads - start.catalogLoads).toBe(t.app.config.policy.poolSize);

    const after = await usReasons();
    expect(after).toContain("zdr: endpoint retains prompts for 7 days (source: provider)");
    expect(after.join("\n")).not.toContain("30 days");
    expect(engine.stats.byIds - start.byIds).toBe(3);
    expect(engine.stats.inline).toBe(start.inline);
  }, 60_000);
});
