import { beforeAll, describe, expect, it } from "vitest";
import { candidateRows } from "../audit/index.js";
import { AllAttemptsFailedError, LocalSaturatedError, NoEligibleEndpointError } from "./errors.js";
import type { Evaluate } from "./fixtures/router-harness.js";
import {
  BUNDLE,
  EU,
  fail,
  loadFixtureCatalog,
  request,
  routeOf,
  run,
  setup,
  UNKNOWN,
  US,
  withRemote,
} from "./fixtures/router-harness.js";

beforeAll(loadFixtureCatalog);

/**
 * sim-us stays on 127.0.0.1 (local, $3); sim-eu ($1) and sim-unknown ($2) move to public host
 * names (remote). By price alone the plan is EU, UNKNOWN, US.
 */
const catalog = () => withRemote(["sim-eu", "sim-unknown"]);
const byPrice = { order: undefined, sort: { by: "price" as const, partition: "model" as const } };

/** The shipped policy's local_only, at the unit seam: remote endpoints (input `local`) denied. */
const localOnlyPolicy =
  (preferLocal = false): Evaluate =>
  async (input) => {
    const localOnly = input.request.provider.local_only === true;
    const deny: Record<string, string[]> = {};
    for (const e of input.endpoints)
      if (localOnly && e.local !== true) deny[e.id] = ["local_only: endpoint is remote"];
    return {
      decision: {
        allow: input.endpoints.map((e) => e.id).filter((id) => !deny[id]),
        deny,
        permittedParameters: [],
        ...(preferLocal ? { preferLocal: true } : {}),
      },
      bundle: BUNDLE,
      evalMicros: 7,
    };
  };

describe("Router: local endpoints", () => {
  it("prefer_local puts the local endpoint ahead of cheaper remote ones, the rest in their usual order", async () => {
    const plain = setup({ snapshot: catalog() });
    await run(plain.router, request(byPrice));
    expect(plain.recorder.decisions[0]!.record.plan).toEqual([EU, UNKNOWN, US]);

    const t = setup({ snapshot: catalog() });
    const { events, error } = await run(t.router, request({ ...byPrice, preferLocal: true }));
    expect(error).toBeUndefined();
    expect(t.recorder.decisions[0]!.record.plan).toEqual([US, EU, UNKNOWN]);
    expect(routeOf(events)).toMatchObject({ endpoint: { id: US }, attempt: 1 });
    expect(t.recorder.decisions[0]!.record.request.provider).toMatchObject({ prefer_local: true });
  });

  it("prefer_local imposed by the policy (route output) orders the same way", async () => {
    const t = setup({ snapshot: catalog(), evaluate: localOnlyPolicy(true) });
    await run(t.router, request(byPrice));
    expect(t.recorder.decisions[0]!.record.plan).toEqual([US, EU, UNKNOWN]);
  });

  it("local_only: the policy input names local endpoints, only they are planned", async () => {
    const t = setup({ snapshot: catalog(), evaluate: localOnlyPolicy() });
    const { error } = await run(t.router, request({ ...byPrice, localOnly: true }));
    expect(error).toBeUndefined();
    expect(t.recorder.decisions[0]!.record.plan).toEqual([US]);
    expect(t.adapter.calls.map((c) => c.provider)).toEqual(["sim-us"]);
  });

  it("a saturated local runtime falls over to the next planned endpoint, recorded local_saturated, and stays healthy", async () => {
    const t = setup({ snapshot: catalog(), scripts: { "sim-us": [fail("local_saturated")] } });
    for (let i = 0; i < 5; i++) {
      const { events, error } = await run(t.router, request({ ...byPrice, preferLocal: true }));
      expect(error).toBeUndefined();
      expect(routeOf(events)).toMatchObject({ endpoint: { id: EU }, attempt: 2 });
    }
    expect(t.recorder.outcomes.at(-1)!.attempts.map((a) => [a.endpoint_id, a.error_class])).toEqual([
      [US, "local_saturated"],
      [EU, null],
    ]);
    // Busy, not down: five saturations in a row leave it healthy and first in the plan.
    expect(t.health.performance(US).unhealthy).toBe(false);
    expect(t.recorder.decisions.at(-1)!.record.plan[0]).toBe(US);
  });

  it("local_only with the local runtime saturated: LocalSaturatedError (no remote fallback)", async () => {
    const t = setup({
      snapshot: catalog(),
      evaluate: localOnlyPolicy(),
      scripts: { "sim-us": [fail("local_saturated")] },
    });
    const { error } = await run(t.router, request({ localOnly: true }));
    expect(error).toBeInstanceOf(LocalSaturatedError);
    expect((error as Error).message).toMatch(
      /^local_saturated: every local slot is busy \(sim-us\/chat-small\)/,
    );
    expect(t.adapter.calls.map((c) => c.provider)).toEqual(["sim-us"]);
    const outcome = t.recorder.outcomes[0]!;
    expect(outcome.error_class).toBe("local_saturated");
    expect(outcome.attempts.map((a) => a.error_class)).toEqual(["local_saturated"]);
  });

  it("saturation mixed with an outage is an ordinary all-attempts failure", async () => {
    const t = setup({
      snapshot: catalog(),
      scripts: {
        "sim-us": [fail("local_saturated")],
        "sim-eu": [fail("connect")],
        "sim-unknown": [fail("server", 503)],
      },
    });
    const { error } = await run(t.router, request({ ...byPrice, preferLocal: true }));
    expect(error).toBeInstanceOf(AllAttemptsFailedError);
  });

  it("an unreachable local runtime is excluded before any attempt (availability, unreachable)", async () => {
    const t = setup({
      snapshot: catalog(),
      reachability: (id) =>
        id === US
          ? { state: "unreachable", checkedAtMs: 1, reason: "probe GET /models: connection refused" }
          : { state: "unknown" },
    });
    const { error } = await run(t.router, request({ ...byPrice, preferLocal: true }));
    expect(error).toBeUndefined();
    expect(t.adapter.calls.map((c) => c.provider)).toEqual(["sim-eu"]);
    const rows = candidateRows(t.recorder.decisions[0]!.record);
    expect(rows.find((c) => c.endpoint_id === US)!.exclusions).toEqual([
      {
        stage: "availability",
        rule: "unreachable",
        reason: "unreachable: probe GET /models: connection refused",
      },
    ]);

    // local_only and the only local runtime down: nothing eligible, the reasons say why.
    const only = setup({
      snapshot: catalog(),
      evaluate: localOnlyPolicy(),
      reachability: (id) =>
        id === US
          ? { state: "unreachable", checkedAtMs: 1, reason: "probe GET /models: timed out" }
          : { state: "unknown" },
    });
    const denied = await run(only.router, request({ localOnly: true }));
    expect(denied.error).toBeInstanceOf(NoEligibleEndpointError);
    expect(only.adapter.calls).toEqual([]);
  });
});
