import { describe, expect, it } from "vitest";
import { buildSnapshot, parseCatalogFiles } from "../../catalog/index.js";
import { fromProtoEndpoint, toProtoEndpoint } from "./catalog-messages.js";

const YAML = `provider: acme
name: Acme AI
headquarters: DE
policy: { retention_days: 0, trains_on_data: false, caching: in_memory, residency: { region: eu, country: DE } }
endpoints:
  - id: acme/vision
    model: acme/vision
    api: openai
    base_url: https://api.acme.example/v1
    pricing: { prompt: 2.0, completion: 6.0, cached_prompt: 0.5 }
    context_length: 131072
    input_modalities: [file, image, text]
    supported_parameters: [max_tokens, response_format]
  - id: acme/embed
    model: acme/embed
    kind: embedding
    api: openai
    base_url: https://api.acme.example/v1
    pricing: { prompt: 0.1, completion: 0 }
    context_length: 8192
`;

describe("catalog endpoint messages", () => {
  const endpoints = buildSnapshot(parseCatalogFiles([{ name: "acme.yaml", content: YAML }])).endpoints;

  it("carry kind, input modalities and the cached-prompt price both ways", () => {
    const vision = toProtoEndpoint(endpoints.find((e) => e.id === "acme/vision")!);
    expect(vision.kind).toBe("chat");
    expect(vision.inputModalities).toEqual(["text", "image", "file"]);
    expect(vision.pricing?.cachedPrompt).toBe(0.5);
    const embed = toProtoEndpoint(endpoints.find((e) => e.id === "acme/embed")!);
    expect(embed.kind).toBe("embedding");
    expect(embed.inputModalities).toEqual(["text"]);
    expect(embed.pricing?.cachedPrompt).toBeUndefined();
    for (const e of endpoints) {
      const back = fromProtoEndpoint(toProtoEndpoint(e));
      expect(back.kind).toBe(e.kind);
      expect(back.inputModalities).toEqual(e.inputModalities);
      expect(back.pricing).toEqual(e.pricing);
      expect(back.supportedParameters).toEqual(e.supportedParameters);
    }
  });
});
