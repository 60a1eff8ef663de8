import { describe, expect, it } from "vitest";
import type { UpstreamMessage } from "../upstream/index.js";
import { endpoint, request } from "./fixtures/candidates.js";
import {
  PARAMETERS,
  parameterExclusions,
  retentionParameters,
  unappliedParameters,
  usedParameters,
} from "./parameters.js";

const NONE = new Set<string>();

/** A user message with an image given by URL or inline (a data URL's bytes). */
function withImage(kind: "url" | "base64"): UpstreamMessage[] {
  const source =
    kind === "url"
      ? { kind: "url" as const, url: "https://example.test/cat.png" }
      : { kind: "base64" as const, mediaType: "image/png", data: "iVBORw0KGgo=" };
  return [
    {
      role: "user",
      content: [
        { type: "text", text: "what is this?" },
        { type: "image", source },
      ],
    },
  ];
}

describe("PARAMETERS", () => {
  it("classes what changes the answer's shape as contract, retention as retention, the rest advisory", () => {
    for (const p of [
      "tools",
      "tool_choice",
      "response_format",
      "structured_outputs",
      "logprobs",
      "top_logprobs",
      "n",
      "image_urls",
    ])
      expect(PARAMETERS[p], p).toBe("contract");
    for (const p of ["store", "prompt_cache_key", "prompt_cache_retention"])
      expect(PARAMETERS[p], p).toBe("retention");
    for (const p of [
      "max_tokens",
      "temperature",
      "top_p",
      "stop",
      "seed",
      "presence_penalty",
      "frequency_penalty",
      "logit_bias",
      "parallel_tool_calls",
      "reasoning_effort",
      "user",
      "service_tier",
    ])
      expect(PARAMETERS[p], p).toBe("advisory");
    expect(PARAMETERS.metadata).toBeUndefined();
  });
});

describe("usedParameters", () => {
  it("lists the core fields by their catalog names, and none for a bare request", () => {
    expect(usedParameters(request())).toEqual([]);
    expect(
      usedParameters(
        request(
          {},
          {
            maxTokens: 10,
            temperature: 0,
            topP: 1,
            stop: ["x"],
            tools: [{ type: "function", function: { name: "f" } }],
            toolChoice: "auto",
            seed: 0,
          },
        ),
      ),
    ).toEqual(["max_tokens", "temperature", "top_p", "stop", "tools", "tool_choice", "seed"]);
    expect(usedParameters(request({}, { stop: [], tools: [] }))).toEqual([]);
  });

  it("n: 1 and store: false are the defaults and count as unused; n: 2 and store: true count", () => {
    expect(usedParameters(request({}, { params: { n: 1, store: false } }))).toEqual([]);
    expect(usedParameters(request({}, { params: { n: 2, store: true } }))).toEqual(["n", "store"]);
  });

  it("a JSON schema response_format is also structured_outputs; json_object is not", () => {
    const schema = { type: "json_schema", json_schema: { name: "x", schema: {}, strict: true } };
    expect(usedParameters(request({}, { params: { response_format: schema } }))).toEqual([
      "response_format",
      "structured_outputs",
    ]);
    expect(usedParameters(request({}, { params: { response_format: { type: "json_object" } } }))).toEqual([
      "response_format",
    ]);
  });

  it("an image by URL is image_urls; an inline image is not", () => {
    expect(usedParameters(request({}, { messages: withImage("url") }))).toEqual(["image_urls"]);
    expect(usedParameters(request({}, { messages: withImage("base64") }))).toEqual([]);
  });

  it("ignores undefined values and max_completion_tokens (the max_tokens marker); counts a pass-through name", () => {
    expect(
      usedParameters(
        request({}, { params: { frobnicate: 1, logprobs: undefined, max_completion_tokens: 5 } }),
      ),
    ).toEqual(["frobnicate"]);
  });

  it("retentionParameters keeps only the retention class", () => {
    const req = request({}, { temperature: 1, params: { store: true, prompt_cache_key: "k", user: "u" } });
    expect(retentionParameters(req)).toEqual(["store", "prompt_cache_key"]);
  });
});

describe("parameterExclusions", () => {
  const e = endpoint("acme/x", { supportedParameters: ["max_tokens", "tools", "store"] });

  it("a contract parameter the endpoint lacks excludes it, naming every such parameter", () => {
    const req = request(
      {},
      { params: { logprobs: true, n: 3 }, tools: [{ type: "function", function: { name: "f" } }] },
    );
    expect(parameterExclusions(e, req, NONE)).toEqual([
      {
        stage: "filter",
        rule: "parameters",
        reason: "parameters: endpoint does not support logprobs, n, which change the answer's contract",
      },
    ]);
  });

  it("an advisory parameter excludes only with require_parameters", () => {
    const req = (requireParameters: boolean) =>
      request({ requireParameters }, { temperature: 0.3, params: { presence_penalty: 1 } });
    expect(parameterExclusions(e, req(false), NONE)).toEqual([]);
    expect(parameterExclusions(e, req(true), NONE)).toEqual([
      {
        stage: "filter",
        rule: "require_parameters",
        reason: "require_parameters: endpoint does not support temperature, presence_penalty",
      },
    ]);
  });

  it("a retention parameter needs the policy's permission even where declared (fail closed)", () => {
    const req = request({}, { params: { store: true } });
    expect(parameterExclusions(e, req, NONE)).toEqual([
      {
        stage: "policy",
        rule: "retention_parameters",
        reason:
          "retention_parameters: store would have the provider keep or cache data, and the policy does not permit it",
      },
    ]);
    expect(parameterExclusions(e, req, new Set(["store"]))).toEqual([]);
    expect(parameterExclusions(e, request({}, { params: { store: false } }), NONE)).toEqual([]);
  });

  it("a permitted retention parameter the endpoint does not declare still excludes it", () => {
    const req = request({}, { params: { prompt_cache_key: "k" } });
    expect(parameterExclusions(e, req, new Set(["prompt_cache_key"])).map((x) => x.rule)).toEqual([
      "parameters",
    ]);
    expect(parameterExclusions(e, req, NONE).map((x) => x.rule)).toEqual([
      "parameters",
      "retention_parameters",
    ]);
  });

  it("image URLs need an endpoint that declares image_urls", () => {
    const req = request({}, { messages: withImage("url") });
    expect(parameterExclusions(e, req, NONE).map((x) => x.rule)).toEqual(["parameters"]);
    const fetches = endpoint("acme/y", { supportedParameters: ["image_urls"] });
    expect(parameterExclusions(fetches, req, NONE)).toEqual([]);
  });
});

describe("unappliedParameters", () => {
  it("names the advisory parameters the endpoint does not declare, never contract or retention ones", () => {
    const e = endpoint("acme/x", { supportedParameters: ["max_tokens", "seed"] });
    const req = request(
      {},
      { maxTokens: 5, seed: 1, temperature: 0.1, params: { user: "u", logprobs: true, store: true } },
    );
    expect(unappliedParameters(e, req)).toEqual(["temperature", "user"]);
    expect(unappliedParameters(e, request({}, { maxTokens: 5 }))).toEqual([]);
  });
});
