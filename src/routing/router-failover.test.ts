import { beforeAll, describe, expect, it } from "vitest";
import { candidateRows } from "../audit/index.js";
import { UpstreamError } from "../upstream/index.js";
import { AllAttemptsFailedError, StreamInterruptedError, UpstreamRejectedError } from "./errors.js";
import {
  allowAll,
  EU,
  fail,
  finish,
  loadFixtureCatalog,
  principal,
  request,
  routeOf,
  run,
  setup,
  text,
  UNKNOWN,
  US,
} from "./fixtures/router-harness.js";
import type { RouterEvent } from "./router.js";

beforeAll(loadFixtureCatalog);

/** The Router at its unit seam (./fixtures/router-harness.ts): failover in plan order, and a caller that goes away mid-stream. */
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

  it("a request an adapter cannot translate (client, nothing sent) fails over; the last one names why", async () => {
    const refuse = fail("client"); // no status: raised by the adapter before sending
    const t = setup({ scripts: { "sim-eu": [refuse] } });
    const { error } = await run(t.router);
    expect(error).toBeUndefined();
    expect(t.adapter.calls.map((c) => c.provider)).toEqual(["sim-eu", "sim-us"]);
    expect(t.health.performance(EU).unhealthy).toBe(false);

    const all = setup({ scripts: { "sim-eu": [refuse], "sim-us": [refuse], "sim-unknown": [refuse] } });
    const last = await run(all.router);
    expect(last.error).toBeInstanceOf(UpstreamRejectedError);
    expect((last.error as Error).message).toBe(
      "no endpoint of the plan could take the request: scripted client",
    );
    expect(all.adapter.calls).toHaveLength(3);
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
