import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { buildSnapshot, loadCatalogDir } from "../src/catalog/index.js";
import { PARAMETERS } from "../src/routing/parameters.js";

/**
 * The shipped catalogs' capabilities (supported_parameters, input_modalities, cached prices)
 * against the router's parameter classes (src/routing/parameters.ts): here rather than beside
 * the catalog, which sits below routing/ in the layer order.
 */
const CATALOG_DIR = fileURLToPath(new URL("../catalog", import.meta.url));

describe("the shipped catalog's capabilities", async () => {
  const snapshot = buildSnapshot(await loadCatalogDir(CATALOG_DIR, { env: {} }), { env: {} });

  it("every real endpoint declares only parameter names the router knows, with their companions", () => {
    const known = new Set([...Object.keys(PARAMETERS), "metadata"]);
    for (const e of snapshot.endpoints) {
      if (e.provider.startsWith("sim-")) continue;
      for (const p of e.supportedParameters) expect(known.has(p), `${e.id}: ${p}`).toBe(true);
      // A contract parameter's companion must be there too (tool_choice without tools is meaningless).
      if (e.supportedParameters.includes("tool_choice"))
        expect(e.supportedParameters, e.id).toContain("tools");
      if (e.supportedParameters.includes("top_logprobs"))
        expect(e.supportedParameters, e.id).toContain("logprobs");
      if (e.supportedParameters.includes("structured_outputs"))
        expect(e.supportedParameters, e.id).toContain("response_format");
      // Retention parameters go only where the provider documents them, beside `store: false`'s home.
      if (e.supportedParameters.includes("metadata")) expect(e.supportedParameters, e.id).toContain("store");
      if (e.supportedParameters.includes("image_urls")) expect(e.inputModalities, e.id).toContain("image");
      if (e.pricing.cachedPrompt !== undefined) expect(e.pricing.cachedPrompt).toBeLessThan(e.pricing.prompt);
    }
  });

  it("declares what the providers document: a sample the router's routing depends on", () => {
    const params = (id: string) => snapshot.byId.get(id)?.supportedParameters ?? [];
    // OpenAI: every retention parameter (still subject to the policy), structured outputs, n.
    expect(params("openai/gpt-4.1")).toEqual(
      expect.arrayContaining([
        "store",
        "prompt_cache_key",
        "structured_outputs",
        "n",
        "logprobs",
        "image_urls",
      ]),
    );
    expect(snapshot.byId.get("openai/gpt-4.1")?.pricing.cachedPrompt).toBe(0.5);
    // Mistral calls the seed random_seed: the OpenAI-compatible adapter's `seed` would be ignored.
    expect(params("mistral/mistral-large")).not.toContain("seed");
    // Scaleway lists these as unsupported.
    for (const p of ["frequency_penalty", "n", "top_logprobs", "logit_bias", "user"])
      expect(params("scaleway/llama-3.3-70b-instruct")).not.toContain(p);
    // Nobody but OpenAI is declared to keep data.
    for (const e of snapshot.endpoints)
      if (e.provider !== "openai")
        for (const p of ["store", "prompt_cache_key", "prompt_cache_retention"])
          expect(e.supportedParameters, e.id).not.toContain(p);
    expect(snapshot.byId.get("google-vertex/gemini-2.5-pro-europe-west4")?.inputModalities).toEqual([
      "text",
      "image",
      "audio",
    ]);
  });
});
