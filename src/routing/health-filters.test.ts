import { describe, expect, it } from "vitest";
import { endpointOrigin } from "../auth/index.js";
import { requestExclusions } from "./filters.js";
import { endpoint, request } from "./fixtures/candidates.js";
import { HealthTracker } from "./health.js";
import type { RouteRequest } from "./types.js";

describe("HealthTracker", () => {
  const clock = () => {
    let t = 1_000_000;
    return { now: () => t, advance: (ms: number) => (t += ms) };
  };

  it("a failure streak is an outage for 30 s, then the endpoint is healthy again", () => {
    const c = clock();
    const h = new HealthTracker({ now: c.now });
    h.recordFailure("e");
    h.recordFailure("e");
    expect(h.performance("e").unhealthy).toBe(false);
    h.recordFailure("e");
    expect(h.performance("e").unhealthy).toBe(true);
    c.advance(29_000);
    expect(h.performance("e").unhealthy).toBe(true);
    c.advance(1_500);
    expect(h.performance("e").unhealthy).toBe(false);
  });

  it("a failure ratio over the minimum count is an outage even without a streak", () => {
    const c = clock();
    const h = new HealthTracker({ now: c.now });
    for (const ok of [false, true, false, true, false, true])
      ok ? h.recordSuccess("e") : h.recordFailure("e");
    expect(h.performance("e").unhealthy).toBe(true);
    const g = new HealthTracker({ now: c.now });
    for (const ok of [false, true, true, true, true]) ok ? g.recordSuccess("e") : g.recordFailure("e");
    expect(g.performance("e").unhealthy).toBe(false);
  });

  it("a 429's Retry-After keeps that endpoint behind others until it passes", () => {
    const c = clock();
    const h = new HealthTracker({ now: c.now });
    h.recordFailure("e", 60_000);
    h.recordSuccess("e");
    expect(h.performance("e").unhealthy).toBe(true);
    expect(h.performance("other").unhealthy).toBe(false);
    c.advance(60_001);
    expect(h.performance("e").unhealthy).toBe(false);
  });

  it("keeps rolling TTFT and tokens/s (moving averages)", () => {
    const h = new HealthTracker({ alpha: 0.5 });
    h.recordSuccess("e", { ttftMs: 100, tokens: 101, generationMs: 1000 });
    h.recordSuccess("e", { ttftMs: 300, tokens: 201, generationMs: 1000 });
    expect(h.performance("e")).toEqual({ unhealthy: false, ttftMs: 200, tokensPerSecond: 151 });
  });
});

describe("request filters: every exclusion has a rule and a reason", () => {
  const e = endpoint("acme/x", {
    pricing: { prompt: 2, completion: 6 },
    quantization: "fp8",
    contextLength: 1000,
    supportedParameters: ["max_tokens"],
  });
  const rules = (p: Parameters<typeof request>[0], o: Parameters<typeof request>[1] = {}) =>
    requestExclusions(e, request(p, o)).map((x) => `${x.stage}:${x.rule}`);

  it.each([
    [{ only: ["other"] }, {}, "filter:only"],
    [{ ignore: ["acme"] }, {}, "filter:ignore"],
    [{ ignore: ["acme/x"] }, {}, "filter:ignore"],
    [{ quantizations: ["bf16"] }, {}, "filter:quantizations"],
    [{ maxPrice: { prompt: 1 } }, {}, "filter:max_price"],
    [{ maxPrice: { completion: 5 } }, {}, "filter:max_price"],
    [{ requireParameters: true }, { temperature: 0.2 }, "filter:require_parameters"],
    [{}, { maxTokens: 2000 }, "filter:context_length"],
  ] as const)("%j %j → %s", (p, o, rule) => {
    expect(rules(p, o)).toEqual([rule]);
    for (const x of requestExclusions(e, request(p, o)))
      expect(x.reason).toMatch(new RegExp(`^${x.rule}: .+`));
  });

  it("passes what the caller allows", () => {
    expect(
      rules(
        {
          only: ["acme"],
          quantizations: ["fp8"],
          maxPrice: { prompt: 2, completion: 6 },
          requireParameters: true,
        },
        { maxTokens: 10 },
      ),
    ).toEqual([]);
  });

  it("an endpoint lacking one of the request's input modalities is excluded, naming them", () => {
    const parts: RouteRequest["messages"] = [
      {
        role: "user",
        content: [
          { type: "text", text: "transcribe and summarise" },
          { type: "audio", data: "UklGRg==", format: "wav" },
          { type: "file", source: { kind: "base64", mediaType: "application/pdf", data: "JVBERi0=" } },
        ],
      },
    ];
    const x = requestExclusions(e, request({}, { messages: parts }));
    expect(x).toEqual([
      {
        stage: "filter",
        rule: "input_modalities",
        reason: "input_modalities: endpoint does not take audio, file input",
      },
    ]);
    const takes = endpoint("acme/y", { inputModalities: ["text", "audio", "file"] });
    expect(requestExclusions(takes, request({}, { messages: parts }))).toEqual([]);
  });

  it("an endpoint of another kind is excluded (kind): chat by default, embedding when asked", () => {
    const embed = endpoint("acme/e", { kind: "embedding" });
    expect(requestExclusions(embed, request())).toEqual([
      { stage: "filter", rule: "kind", reason: "kind: endpoint serves embedding, not chat" },
    ]);
    expect(requestExclusions(embed, request({}, { operation: "embedding" }))).toEqual([]);
    expect(requestExclusions(e, request({}, { operation: "embedding" })).map((r) => r.rule)).toEqual([
      "kind",
    ]);
  });

  it("a missing shared credential excludes, unless the tenant brought its own key", () => {
    const u = endpoint("acme/x", { available: false, unavailableReason: "credential ACME_KEY is not set" });
    expect(requestExclusions(u, request()).map((x) => x.rule)).toEqual(["credentials"]);
    const here = new Set([endpointOrigin(u)]);
    expect(requestExclusions(u, request(), { apiKey: "k", always: false, origins: here })).toEqual([]);
    // "Always use my key" with a key that cannot be decrypted: fail closed, even with a shared key.
    expect(
      requestExclusions(e, request(), { apiKey: undefined, always: true, origins: new Set() }).map(
        (x) => x.rule,
      ),
    ).toEqual(["byok"]);
  });

  it("the tenant's own key for an origin it was not approved for excludes the endpoint (byok_origin)", () => {
    const elsewhere = new Set(["https://api.other.example:443"]);
    const x = requestExclusions(e, request(), { apiKey: "k", always: false, origins: elsewhere });
    expect(x.map((r) => r.rule)).toEqual(["byok_origin"]);
    expect(x[0]!.reason).toContain(endpointOrigin(e));
    expect(
      requestExclusions(e, request(), { apiKey: "k", always: false, origins: new Set([endpointOrigin(e)]) }),
    ).toEqual([]);
  });
});
