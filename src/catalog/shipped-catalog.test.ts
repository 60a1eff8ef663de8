import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { buildSnapshot, isZeroDataRetention, loadCatalogDir } from "./index.js";

const CATALOG_DIR = fileURLToPath(new URL("../../catalog", import.meta.url));

describe("the shipped catalog/", async () => {
  const source = await loadCatalogDir(CATALOG_DIR, { env: {} });
  const snapshot = buildSnapshot(source, { env: {} });

  it("validates and covers the providers a European team weighs", () => {
    const slugs = snapshot.providers.map((p) => p.slug);
    for (const slug of [
      "openai",
      "anthropic",
      "mistral",
      "aleph-alpha",
      "scaleway",
      "ovhcloud",
      "ionos",
      "azure-openai",
      "aws-bedrock",
      "google-vertex",
      "together",
      "fireworks",
      "self-hosted-vllm",
      "local-ollama",
      "sim-eu",
      "sim-us",
      "sim-unknown",
    ]) {
      expect(slugs).toContain(slug);
    }
  });

  it("every stated fact of a real provider carries evidence from 2026-11-22", () => {
    for (const e of snapshot.endpoints) {
      if (e.provider.startsWith("sim-")) continue; // simulator fixtures state no real facts
      for (const attribute of Object.values(e.policy)) {
        if (attribute.source === "assumed") continue;
        expect(attribute.evidence, `${e.id}`).toBeDefined();
        expect(attribute.evidence?.url).toMatch(/^https:\/\//);
        expect(attribute.evidence?.verifiedOn).toBe("2026-11-22");
      }
    }
  });

  it("every real endpoint's capabilities carry evidence from 2026-11-30", () => {
    for (const e of snapshot.endpoints) {
      if (e.provider.startsWith("sim-")) continue; // simulator fixtures state no real facts
      expect(e.capabilitiesEvidence?.url, e.id).toMatch(/^https:\/\//);
      expect(e.capabilitiesEvidence?.verifiedOn, e.id).toBe("2026-11-30");
    }
  });

  it("lists endpoints without credentials as unavailable instead of dropping them", () => {
    const openai = snapshot.byId.get("openai/gpt-4.1");
    expect(openai?.available).toBe(false);
    expect(snapshot.byId.get("local-ollama/llama-3.2-3b")?.baseUrl).toBe("http://127.0.0.1:11434/v1");
    expect(snapshot.byId.get("self-hosted-vllm/llama-3.1-8b-instruct")?.baseUrl).toBe(
      "http://127.0.0.1:8000/v1",
    );
    expect(
      buildSnapshot(source, { env: { OPENAI_API_KEY: "sk" } }).byId.get("openai/gpt-4.1")?.available,
    ).toBe(true);
  });

  describe("simulator endpoints (catalog/simulator.yaml)", () => {
    it("serve sim/chat-small from three providers at $1, $3 and $2", () => {
      const small = snapshot.byModel.get("sim/chat-small") ?? [];
      expect(small.map((e) => [e.id, e.pricing.prompt + e.pricing.completion])).toEqual([
        ["sim-eu/chat-small", 1],
        ["sim-unknown/chat-small", 2],
        ["sim-us/chat-small", 3],
      ]);
      expect(snapshot.byModel.get("sim/chat-large")?.length).toBeGreaterThan(0);
    });

    it("follow SOVR_SIMULATOR_URL and need no credentials", async () => {
      expect(snapshot.byId.get("sim-eu/chat-small")?.baseUrl).toBe("http://127.0.0.1:8089/v1");
      const moved = buildSnapshot(
        await loadCatalogDir(CATALOG_DIR, { env: { SOVR_SIMULATOR_URL: "http://sim:9" } }),
      );
      expect(moved.byId.get("sim-us/chat-small")?.baseUrl).toBe("http://sim:9/v1");
      for (const e of snapshot.endpoints.filter((x) => x.provider.startsWith("sim-"))) {
        expect(e.apiKeyEnv).toBeUndefined();
        expect(e.available).toBe(true);
      }
    });

    it("give one EU/ZDR, one US 30-day and one fully assumed endpoint", () => {
      const eu = snapshot.byId.get("sim-eu/chat-small")!;
      expect(isZeroDataRetention(eu)).toBe(true);
      expect(eu.policy.residency.value).toEqual({ region: "eu", country: "FR" });
      const us = snapshot.byId.get("sim-us/chat-small")!;
      expect(us.policy.retentionDays.value).toBe(30);
      expect(us.policy.residency.value.region).toBe("us");
      const unknown = snapshot.byId.get("sim-unknown/chat-small")!;
      expect(unknown.assumed).toEqual(["retentionDays", "trainsOnData", "residency", "caching"]);
      expect(unknown.policy.retentionDays.value).toBeNull();
      expect(unknown.policy.trainsOnData.value).toBe(true);
      expect(unknown.policy.residency.value).toEqual({ region: null, country: null });
      expect(unknown.policy.caching.value).toBe("persistent");
    });
  });
});

describe("docs/catalog.md", () => {
  it("its format example is a valid catalog", async () => {
    const { readFile } = await import("node:fs/promises");
    const { parseCatalogFiles } = await import("./index.js");
    const md = await readFile(fileURLToPath(new URL("../../docs/catalog.md", import.meta.url)), "utf8");
    const example = /```yaml\n([\s\S]*?)```/.exec(md)?.[1];
    expect(example).toBeDefined();
    const source = parseCatalogFiles([{ name: "docs-example.yaml", content: example! }]);
    expect(source.providers[0]?.endpoints[0]?.id).toBe("mistral/mistral-large");
  });
});
