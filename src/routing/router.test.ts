import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { candidateRows } from "../audit/index.js";
import type { Principal, TenantKey } from "../auth/index.js";
import { buildSnapshot, type CatalogSnapshot, loadCatalogDir } from "../catalog/index.js";
import type { BundleRef, PolicyEvaluation, PolicyInput } from "../policy/index.js";
import { PolicyEvaluationError, PolicyUnavailableError } from "../policy/index.js";
import type {
  UpstreamAdapter,
  UpstreamCallOptions,
  UpstreamEvent,
  UpstreamTarget,
} from "../upstream/index.js";
import { UpstreamError } from "../upstream/index.js";
import type { DecisionRecordV1, OutcomeRecordV1 } from "./decision-record.js";
import {
  AllAttemptsFailedError,
  AuditUnavailableError,
  StreamInterruptedError,
  UpstreamRejectedError,
} from "./errors.js";
import { HealthTracker } from "./health.js";
import { type DecisionIndexInput, Router, type RouterEvent } from "./router.js";
import type { ProviderPreferences, RouteRequest } from "./types.js";

/**
 * The Router on its own, at its unit seam: a real catalog snapshot (the test fixture catalog),
 * a real health tracker and real selection, with the network (upstream adapters), the database
 * (recorder, BYOK store) and the Wasm policy replaced by small scripted fakes. The real parts
 * behind those seams are covered against a running app by test/e2e/ (failover.test.ts, byok-*.test.ts, routing-preferences.test.ts).
 */

const BUNDLE: BundleRef = { revision: "rev-test", sha256: "ab".repeat(32) };
const SIM = "http://127.0.0.1:8089";
const ORIGIN = "http://127.0.0.1:8089";
const EU = "sim-eu/chat-small";
const US = "sim-us/chat-small";
const UNKNOWN = "sim-unknown/chat-small";

let snapshot: CatalogSnapshot;
beforeAll(async () => {
  // Resolved against the repository root (vitest's cwd), so the test does not depend on its folder.
  const source = await loadCatalogDir(join(process.cwd(), "test/fixtures/catalog"), {
    env: { SOVR_SIMULATOR_URL: SIM },
  });
  snapshot = buildSnapshot(source);
});

/** One step of a scripted upstream: an event to yield, an error to throw, or a hang until cancelled. */
type Step = UpstreamEvent | { fail: UpstreamError } | { hang: true };

interface Call {
  /** The provider slug, from the simulator path `/<provider>/v1`. */
  provider: string;
  apiKey: string | undefined;
  model: string;
  /** The iterator was closed (return or throw) — the upstream request was cancelled or ended. */
  closed: boolean;
  signal: AbortSignal | undefined;
}

const text = (content: string): UpstreamEvent => ({ type: "delta", content });
const finish: UpstreamEvent = {
  type: "finish",
  finishReason: "stop",
  usage: { promptTokens: 3, completionTokens: 2 },
};
const fail = (errorClass: UpstreamError["errorClass"], status?: number, retryAfterMs?: number): Step => ({
  fail: new UpstreamError(errorClass, `scripted ${errorClass}`, status, retryAfterMs),
});

/** A provider's script, or one per credential (`undefined`: the shared one). */
type Script = Step[] | ((apiKey: string | undefined) => Step[]);

/** An upstream adapter playing one script per provider; records each call in `log`. */
class ScriptedAdapter implements UpstreamAdapter {
  readonly calls: Call[] = [];

  constructor(
    private readonly scripts: Record<string, Script>,
    private readonly log: string[],
  ) {}

  stream(
    target: UpstreamTarget,
    req: { model: string },
    opts: UpstreamCallOptions,
  ): AsyncIterable<UpstreamEvent> {
    const provider = new URL(target.baseUrl).pathname.split("/")[1]!;
    const call: Call = {
      provider,
      apiKey: target.apiKey,
      model: req.model,
      closed: false,
      signal: opts.signal,
    };
    this.calls.push(call);
    this.log.push(`upstream ${provider}`);
    const scripted = this.scripts[provider] ?? [text("ok"), finish];
    const script = typeof scripted === "function" ? scripted(target.apiKey) : scripted;
    return (async function* () {
      try {
        for (const step of script) {
          if ("fail" in step) throw step.fail;
          if ("hang" in step) {
            // Like the real adapters: the caller's signal cancels the request, surfacing as "aborted".
            await new Promise<void>((resolve) => {
              if (opts.signal?.aborted) resolve();
              opts.signal?.addEventListener("abort", () => resolve(), { once: true });
            });
            throw new UpstreamError("aborted", "caller cancelled");
          }
          yield step;
        }
      } finally {
        call.closed = true;
      }
    })();
  }

  complete(): never {
    throw new Error("not used by the router");
  }

  async close(): Promise<void> {}
}

/** A recorder keeping records in memory; `failWith` makes the audit log unavailable. */
class MemoryRecorder {
  readonly decisions: { record: DecisionRecordV1; index: DecisionIndexInput }[] = [];
  readonly outcomes: OutcomeRecordV1[] = [];
  failWith: Error | undefined;

  constructor(private readonly log: string[]) {}

  async recordDecision(record: DecisionRecordV1, index: DecisionIndexInput): Promise<void> {
    this.log.push(`decision ${index.outcome}`);
    if (this.failWith) throw this.failWith;
    this.decisions.push({ record, index });
  }

  async recordOutcome(record: OutcomeRecordV1): Promise<void> {
    this.log.push(`outcome ${record.outcome}`);
    this.outcomes.push(record);
  }
}

type Evaluate = (input: PolicyInput) => Promise<PolicyEvaluation>;

/** A policy allowing every candidate except those in `deny`. */
const allowAll =
  (deny: Record<string, string[]> = {}): Evaluate =>
  async (input) => ({
    decision: { allow: input.endpoints.map((e) => e.id).filter((id) => !deny[id]), deny },
    bundle: BUNDLE,
    evalMicros: 7,
  });

function setup(
  o: {
    scripts?: Record<string, Script>;
    evaluate?: Evaluate;
    keys?: Record<string, Record<string, TenantKey>>;
  } = {},
) {
  const log: string[] = [];
  const adapter = new ScriptedAdapter(o.scripts ?? {}, log);
  const recorder = new MemoryRecorder(log);
  const health = new HealthTracker();
  const finished: string[] = [];
  const keyLookups: string[] = [];
  const router = new Router({
    catalog: { current: () => snapshot },
    policy: { evaluate: o.evaluate ?? allowAll(), activeBundle: () => BUNDLE },
    recorder,
    adapters: { openai: adapter },
    health,
    instance: "router-test",
    timeouts: { connectTimeoutMs: 1000, firstTokenTimeoutMs: 1000, idleTimeoutMs: 1000 },
    env: {},
    byok: {
      keysFor: async (tenant) => {
        keyLookups.push(tenant);
        return new Map(Object.entries(o.keys?.[tenant] ?? {}));
      },
    },
    observer: {
      policyEvaluated: () => {},
      attempt: () => {},
      finished: (outcome) => finished.push(outcome),
    },
  });
  return { router, adapter, recorder, health, log, finished, keyLookups };
}

function request(provider: Partial<ProviderPreferences> = {}): RouteRequest {
  return {
    model: "sim/chat-small",
    models: [],
    messages: [{ role: "user", content: "hello" }],
    provider: { allowFallbacks: true, order: ["sim-eu", "sim-us", "sim-unknown"], ...provider },
    region: null,
    labels: {},
    workload: "",
  };
}

const principal = (tenant = "acme"): Principal => ({
  tenant,
  workload: "",
  roles: ["caller"],
  keyId: "k1",
  allTenants: false,
});

/** Drains a routed stream: the events before it ended, and the error it ended with, if any. */
async function run(
  router: Router,
  req: RouteRequest = request(),
  who: Principal = principal(),
): Promise<{ events: RouterEvent[]; error: unknown }> {
  const events: RouterEvent[] = [];
  try {
    for await (const ev of router.stream(req, who)) events.push(ev);
    return { events, error: undefined };
  } catch (error) {
    return { events, error };
  }
}

const routeOf = (events: RouterEvent[]) => events.find((e) => e.type === "route");

describe("Router: failover in plan order", () => {
  it("fails over past retryable errors to the next endpoint of the plan, recording every attempt", async () => {
    const t = setup({
      scripts: { "sim-eu": [fail("server", 503)], "sim-us": [fail("rate_limited", 429, 30_000)] },
    });
    const { events, error } = await run(t.router);
    expect(error).toBeUndefined();
    expect(t.adapter.calls.map((c) => c.provider)).toEqual(["sim-eu", "sim-us", "sim-unknown"]);
    expect(routeOf(events)).toMatchObject({ endpoint: { id: UNKNOWN }, attempt: 3 });
    expect(events.filter((e) => e.type === "delta").map((e) => e.type === "delta" && e.content)).toEqual([
      "ok",
    ]);
    expect(events.at(-1)).toMatchObject({ type: "finish", finishReason: "stop" });
    // Durable before upstream: the decision is written before the first call, the outcome after.
    expect(t.log).toEqual([
      "decision pending",
      "upstream sim-eu",
      "upstream sim-us",
      "upstream sim-unknown",
      "outcome success",
    ]);
    const [outcome] = t.recorder.outcomes;
    expect(outcome!.decision_id).toBe(t.recorder.decisions[0]!.record.decision_id);
    expect(outcome!.outcome).toBe("success");
    expect(outcome!.endpoint_used).toBe(UNKNOWN);
    expect(outcome!.attempts.map((a) => [a.endpoint_id, a.status, a.error_class])).toEqual([
      [EU, 503, "server"],
      [US, 429, "rate_limited"],
      [UNKNOWN, 200, null],
    ]);
    // The failures count against the endpoints' health; the 429's Retry-After cools sim-us down.
    expect(t.health.performance(US).unhealthy).toBe(true);
    expect(t.health.performance(UNKNOWN).unhealthy).toBe(false);
    expect(t.recorder.decisions[0]!.record.plan).toEqual([EU, US, UNKNOWN]);
  });

  it.each([
    "connect",
    "timeout_connect",
    "timeout_first_token",
    "timeout_idle",
    "server",
    "rate_limited",
    "auth",
    "protocol",
    "stream_broken",
  ] as const)("%s before the first token → the next endpoint serves", async (errorClass) => {
    const t = setup({ scripts: { "sim-eu": [{ type: "delta", role: "assistant" }, fail(errorClass)] } });
    const { events, error } = await run(t.router);
    expect(error).toBeUndefined();
    expect(routeOf(events)).toMatchObject({ endpoint: { id: US }, attempt: 2 });
    expect(t.adapter.calls.map((c) => [c.provider, c.closed])).toEqual([
      ["sim-eu", true],
      ["sim-us", true],
    ]);
    expect(t.recorder.outcomes[0]!.attempts.map((a) => a.error_class)).toEqual([errorClass, null]);
  });

  it("a request the upstream rejects (4xx) stops at the first endpoint: no failover", async () => {
    const t = setup({ scripts: { "sim-eu": [fail("client", 400)] } });
    const { events, error } = await run(t.router);
    expect(error).toBeInstanceOf(UpstreamRejectedError);
    expect((error as UpstreamRejectedError).status).toBe(400);
    expect(events).toEqual([]);
    expect(t.adapter.calls.map((c) => c.provider)).toEqual(["sim-eu"]);
    expect(t.recorder.outcomes[0]).toMatchObject({
      outcome: "failed",
      error_class: "client",
      endpoint_used: null,
    });
    // The caller's mistake says nothing about the endpoint.
    expect(t.health.performance(EU).unhealthy).toBe(false);
  });

  it("when every endpoint fails, the error names each attempt; the outcome is failed", async () => {
    const t = setup({
      scripts: {
        "sim-eu": [fail("server", 500)],
        "sim-us": [fail("connect")],
        "sim-unknown": [fail("timeout_first_token")],
      },
    });
    const { error } = await run(t.router);
    expect(error).toBeInstanceOf(AllAttemptsFailedError);
    expect((error as AllAttemptsFailedError).attempts).toEqual([
      { endpointId: EU, errorClass: "server", status: 500 },
      { endpointId: US, errorClass: "connect", status: undefined },
      { endpointId: UNKNOWN, errorClass: "timeout_first_token", status: undefined },
    ]);
    expect(t.recorder.outcomes[0]).toMatchObject({ outcome: "failed", error_class: "timeout_first_token" });
    expect(t.finished).toEqual(["failed"]);
  });

  it("after the first token a failure ends the stream: no second endpoint", async () => {
    const t = setup({ scripts: { "sim-eu": [text("par"), fail("stream_broken")] } });
    const { events, error } = await run(t.router);
    expect(error).toBeInstanceOf(StreamInterruptedError);
    expect((error as StreamInterruptedError).errorClass).toBe("stream_broken");
    expect(routeOf(events)).toMatchObject({ endpoint: { id: EU }, attempt: 1 });
    expect(t.adapter.calls.map((c) => c.provider)).toEqual(["sim-eu"]);
    expect(t.recorder.outcomes[0]).toMatchObject({
      outcome: "failed",
      endpoint_used: EU,
      error_class: "stream_broken",
    });
  });

  it("an endpoint the policy denies is never called, and the record says which rule", async () => {
    const t = setup({ evaluate: allowAll({ [EU]: ["residency: outside the EU"] }) });
    const { events } = await run(t.router);
    expect(routeOf(events)).toMatchObject({ endpoint: { id: US }, attempt: 1 });
    expect(t.adapter.calls.map((c) => c.provider)).toEqual(["sim-us"]);
    const eu = candidateRows(t.recorder.decisions[0]!.record).find((c) => c.endpoint_id === EU)!;
    expect(eu.eligible).toBe(false);
    expect(eu.exclusions).toEqual([
      { stage: "policy", rule: "residency", reason: "residency: outside the EU" },
    ]);
  });
});

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

describe("Router: the caller goes away mid-stream", () => {
  it("an aborted signal cancels the upstream; the outcome records the abort", async () => {
    const t = setup({ scripts: { "sim-eu": [text("one"), { hang: true }] } });
    const ac = new AbortController();
    const events: RouterEvent[] = [];
    let error: unknown;
    try {
      for await (const ev of t.router.stream(request(), principal(), ac.signal)) {
        events.push(ev);
        if (ev.type === "delta") ac.abort();
      }
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(UpstreamError);
    expect((error as UpstreamError).errorClass).toBe("aborted");
    expect(t.adapter.calls).toHaveLength(1);
    expect(t.adapter.calls[0]!.signal).toBe(ac.signal);
    expect(t.adapter.calls[0]!.closed).toBe(true);
    expect(t.recorder.outcomes[0]).toMatchObject({
      outcome: "failed",
      endpoint_used: EU,
      error_class: "aborted",
    });
    // A caller leaving says nothing about the endpoint.
    expect(t.health.performance(EU)).toEqual({ unhealthy: false });
  });

  it("closing the stream early (the caller stops reading) closes the upstream and records an abort", async () => {
    const t = setup({ scripts: { "sim-eu": [text("one"), text("two"), text("three"), finish] } });
    for await (const ev of t.router.stream(request(), principal())) {
      if (ev.type === "delta") break;
    }
    expect(t.adapter.calls.map((c) => [c.provider, c.closed])).toEqual([["sim-eu", true]]);
    expect(t.recorder.outcomes).toHaveLength(1);
    expect(t.recorder.outcomes[0]).toMatchObject({
      outcome: "failed",
      endpoint_used: EU,
      error_class: "aborted",
      usage: null,
    });
  });
});

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
