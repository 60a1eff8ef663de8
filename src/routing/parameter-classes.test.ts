import { describe, expect, it } from "vitest";
import { endpoint, request } from "./fixtures/candidates.js";
import { parameterClass, parameterExclusions, unappliedParameters, usedParameters } from "./parameters.js";
import { toUpstreamRequest } from "./upstream-request.js";

/**
 * The parameter classes with names the router does not know: a pass-through field the API edge
 * accepted because a catalog endpoint declares it is a contract parameter (sent only where
 * declared, else the endpoint is excluded), and `max_completion_tokens` is only a marker.
 */
describe("parameters: pass-through names and the max_completion_tokens marker", () => {
  const req = request(
    {},
    { maxTokens: 50, params: { transforms: ["middle-out"], max_completion_tokens: 50 } },
  );

  it("a pass-through name is used, and a contract parameter; the marker is not a parameter", () => {
    expect(usedParameters(req)).toEqual(["max_tokens", "transforms"]);
    expect(parameterClass("transforms")).toBe("contract");
    expect(parameterClass("presence_penalty")).toBe("advisory");
    expect(parameterClass("prompt_cache_options")).toBe("retention");
  });

  it("excludes an endpoint that does not declare it; never reports it as unapplied", () => {
    const without = endpoint("a/x", { supportedParameters: ["max_tokens"] });
    expect(parameterExclusions(without, req, new Set())).toEqual([
      expect.objectContaining({ rule: "parameters", reason: expect.stringContaining("transforms") }),
    ]);
    expect(unappliedParameters(without, req)).toEqual([]);
    const declaring = endpoint("b/x", { supportedParameters: ["max_tokens", "transforms"] });
    expect(parameterExclusions(declaring, req, new Set())).toEqual([]);
  });

  it("goes upstream only to an endpoint that declares it, by its name and value", () => {
    const declaring = endpoint("b/x", { supportedParameters: ["max_tokens", "transforms"] });
    expect(toUpstreamRequest(req, declaring).params).toEqual({
      transforms: ["middle-out"],
      max_completion_tokens: 50,
    });
    const other = endpoint("a/x", { supportedParameters: ["transforms"] });
    // max_tokens not declared: neither name of the limit is sent.
    expect(toUpstreamRequest(req, other).params).toEqual({ transforms: ["middle-out"] });
    expect(toUpstreamRequest(req, other).max_tokens).toBeUndefined();
  });

  it("prompt_cache_options needs the policy's permission like the other cache hints", () => {
    const r = request({}, { params: { prompt_cache_options: { mode: "implicit" } } });
    const e = endpoint("a/x", { supportedParameters: ["prompt_cache_options"] });
    expect(parameterExclusions(e, r, new Set())).toEqual([
      expect.objectContaining({ rule: "retention_parameters" }),
    ]);
    expect(parameterExclusions(e, r, new Set(["prompt_cache_options"]))).toEqual([]);
  });
});
