import { beforeAll, describe, expect, it } from "vitest";
import { candidateRows } from "../audit/index.js";
import { PolicyEvaluationError, PolicyUnavailableError } from "../policy/index.js";
import { AuditUnavailableError } from "./errors.js";
import {
  BUNDLE,
  EU,
  loadFixtureCatalog,
  principal,
  request,
  run,
  setup,
  snapshot,
  UNKNOWN,
  US,
} from "./fixtures/router-harness.js";

beforeAll(loadFixtureCatalog);

/** The Router at its unit seam (./fixtures/router-harness.ts): it fails closed — policy errors, no policy, an audit log that cannot write. */
describe("Router: fail closed", () => {
  it("a policy evaluation error refuses the request, recorded as denied with the error; nothing goes upstream", async () => {
    const t = setup({
      evaluate: async () => {
        throw new PolicyEvaluationError("timeout", "over the time budget");
      },
    });
    const { events, error } = await run(t.router);
    expect(error).toBeInstanceOf(PolicyEvaluationError);
    expect(events).toEqual([]);
    expect(t.adapter.calls).toEqual([]);
    expect(t.recorder.decisions).toHaveLength(1);
    const { record, index } = t.recorder.decisions[0]!;
    expect(index).toMatchObject({ outcome: "denied", bundle: BUNDLE, catalogRevision: snapshot.revision });
    expect(record.policy).toMatchObject({ revision: BUNDLE.revision, error: "timeout" });
    expect(record.plan).toEqual([]);
    expect(
      candidateRows(record)
        .map((c) => c.endpoint_id)
        .sort(),
    ).toEqual([EU, US, UNKNOWN].sort());
    for (const c of candidateRows(record)) {
      expect(c.eligible).toBe(false);
      expect(c.exclusions).toEqual([
        { stage: "policy", rule: "policy", reason: "policy: evaluation failed (timeout); fail closed" },
      ]);
    }
    expect(t.finished).toEqual(["denied"]);
  });

  it("without a loaded policy the request is refused and nothing goes upstream", async () => {
    const t = setup({
      evaluate: async () => {
        throw new PolicyUnavailableError();
      },
    });
    const { error } = await run(t.router);
    expect(error).toBeInstanceOf(PolicyUnavailableError);
    expect(t.adapter.calls).toEqual([]);
    expect(t.finished).toEqual(["denied"]);
  });

  it("an audit log that cannot write refuses the request before any upstream call", async () => {
    const t = setup();
    t.recorder.failWith = new Error("disk full");
    const { events, error } = await run(t.router);
    expect(error).toBeInstanceOf(AuditUnavailableError);
    expect((error as AuditUnavailableError).cause).toBe(t.recorder.failWith);
    expect(events).toEqual([]);
    expect(t.adapter.calls).toEqual([]);
    expect(t.log).toEqual(["decision pending"]);
    expect(t.recorder.outcomes).toEqual([]);
    expect(t.finished).toEqual(["error"]);
  });

  it("no upstream call starts until the decision record is durable", async () => {
    const t = setup();
    let commit!: () => void;
    const committed = new Promise<void>((resolve) => {
      commit = resolve;
    });
    const record = t.recorder.recordDecision.bind(t.recorder);
    t.recorder.recordDecision = async (r, i) => {
      await committed;
      return record(r, i);
    };
    const first = t.router.stream(request(), principal()).next();
    // Let every other pending task run: the router is now waiting for the commit only.
    await new Promise((resolve) => setImmediate(resolve));
    expect(t.adapter.calls).toEqual([]);
    commit();
    expect((await first).value).toMatchObject({ type: "route", endpoint: { id: EU } });
    expect(t.adapter.calls).toHaveLength(1);
  });
});
