import { beforeAll, describe, expect, it } from "vitest";
import { candidateRows } from "../audit/index.js";
import type { TenantKey } from "../auth/index.js";
import {
  EU,
  fail,
  finish,
  loadFixtureCatalog,
  ORIGIN,
  principal,
  request,
  routeOf,
  run,
  setup,
  text,
  UNKNOWN,
  US,
} from "./fixtures/router-harness.js";

beforeAll(loadFixtureCatalog);

/** The Router at its unit seam (./fixtures/router-harness.ts): tenants' own keys (BYOK) and their approved origins. */
describe("Router: tenants' own keys (BYOK)", () => {
  const own = (apiKey: string | undefined, o: Partial<TenantKey> = {}): TenantKey => ({
    apiKey,
    always: false,
    origins: new Set([ORIGIN]),
    ...o,
  });

  it("each tenant's own key goes to its provider; the shared credential elsewhere", async () => {
    const t = setup({
      keys: { acme: { "sim-eu": own("acme-eu-key") }, globex: { "sim-eu": own("globex-eu-key") } },
    });
    await run(t.router, request(), principal("acme"));
    await run(t.router, request(), principal("globex"));
    await run(t.router, request({ order: ["sim-us"] }), principal("globex"));
    expect(t.keyLookups).toEqual(["acme", "globex", "globex"]);
    expect(t.adapter.calls.map((c) => [c.provider, c.apiKey])).toEqual([
      ["sim-eu", "acme-eu-key"],
      ["sim-eu", "globex-eu-key"],
      ["sim-us", undefined],
    ]);
  });

  it("a refused own key falls back to the shared key on the same endpoint, without marking it unhealthy", async () => {
    const t = setup({
      keys: { acme: { "sim-eu": own("acme-eu-key") } },
      scripts: {
        "sim-eu": (apiKey) => (apiKey === "acme-eu-key" ? [fail("auth", 401)] : [text("ok"), finish]),
      },
    });
    // Three in a row: a streak of three failures would mark an endpoint unhealthy.
    for (let i = 0; i < 3; i++) await run(t.router);
    expect(t.adapter.calls.slice(0, 2).map((c) => [c.provider, c.apiKey])).toEqual([
      ["sim-eu", "acme-eu-key"],
      ["sim-eu", undefined],
    ]);
    expect(t.recorder.outcomes[0]!.attempts.map((a) => [a.endpoint_id, a.error_class])).toEqual([
      [EU, "auth"],
      [EU, null],
    ]);
    expect(t.health.performance(EU).unhealthy).toBe(false);
  });

  it('"always use my key": a refused own key never falls back to the shared one', async () => {
    const t = setup({
      keys: { acme: { "sim-eu": own("acme-eu-key", { always: true }) } },
      scripts: { "sim-eu": [fail("auth", 401)] },
    });
    const { events } = await run(t.router);
    expect(t.adapter.calls.map((c) => [c.provider, c.apiKey])).toEqual([
      ["sim-eu", "acme-eu-key"],
      ["sim-us", undefined],
    ]);
    expect(routeOf(events)).toMatchObject({ endpoint: { id: US } });
  });

  it("an own key suspended for the endpoint's origin excludes it: neither that key nor the shared one goes there", async () => {
    const t = setup({
      keys: { acme: { "sim-eu": own("acme-eu-key", { origins: new Set(["https://eu.example:443"]) }) } },
    });
    const { events } = await run(t.router);
    expect(routeOf(events)).toMatchObject({ endpoint: { id: US }, attempt: 1 });
    expect(t.adapter.calls.map((c) => [c.provider, c.apiKey])).toEqual([["sim-us", undefined]]);
    const { record } = t.recorder.decisions[0]!;
    expect(record.plan).toEqual([US, UNKNOWN]);
    const eu = candidateRows(record).find((c) => c.endpoint_id === EU)!;
    expect(eu.eligible).toBe(false);
    expect(eu.exclusions.map((e) => e.rule)).toEqual(["byok_origin"]);
    // The key itself is in no record.
    expect(JSON.stringify(t.recorder.decisions)).not.toContain("acme-eu-key");
  });
});
