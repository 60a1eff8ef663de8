import { describe, expect, it } from "vitest";
import { ACME_YAML, file } from "../../test/support/catalog-files.js";
import {
  ASSUMED_POLICY,
  buildSnapshot,
  CatalogValidationError,
  type EffectivePolicy,
  parseCatalogFiles,
  snapshotFromCanonical,
} from "./index.js";

const PROVIDER_EVIDENCE = {
  url: "https://p.example/dpa",
  document: "Provider DPA",
  verified_on: "2026-11-22",
};
const ENDPOINT_EVIDENCE = { url: "https://p.example/zdr", verified_on: "2026-11-21" };

/** Values that differ from each other and from the assumed worst case, per attribute. */
const FACTS = {
  retentionDays: { yaml: "retention_days", provider: 30, endpoint: 0, assumed: ASSUMED_POLICY.retentionDays },
  trainsOnData: { yaml: "trains_on_data", provider: false, endpoint: false, assumed: true },
  caching: { yaml: "caching", provider: "in_memory", endpoint: "none", assumed: "persistent" },
  residency: {
    yaml: "residency",
    provider: { region: "eu", country: "FR" },
    endpoint: { region: "eu", country: "DE" },
    assumed: { region: null, country: null },
  },
} as const;

type Level = "endpoint" | "provider" | "assumed";

/** A one-endpoint catalog stating `attr` at the provider and/or endpoint level. */
function catalogWith(attr: keyof typeof FACTS, at: { provider: boolean; endpoint: boolean }) {
  const fact = FACTS[attr];
  const providerPolicy: Record<string, unknown> = {};
  const endpoint: Record<string, unknown> = {
    id: "p/e",
    model: "p/model",
    api: "openai",
    base_url: "https://p.example/v1",
    pricing: { prompt: 1, completion: 2 },
    context_length: 1000,
  };
  if (at.provider) {
    providerPolicy[fact.yaml] = fact.provider;
    providerPolicy.evidence = PROVIDER_EVIDENCE;
  }
  if (at.endpoint) {
    if (attr === "residency") {
      endpoint.residency = { ...(fact.endpoint as object), evidence: ENDPOINT_EVIDENCE };
    } else {
      endpoint.policy = { [fact.yaml]: fact.endpoint, evidence: { [fact.yaml]: ENDPOINT_EVIDENCE } };
    }
  }
  const doc = {
    provider: "p",
    name: "P",
    headquarters: "FR",
    ...(at.provider ? { policy: providerPolicy } : {}),
    endpoints: [endpoint],
  };
  // JSON is valid YAML.
  return buildSnapshot(parseCatalogFiles([file("p.yaml", JSON.stringify(doc))]));
}

describe("effective policy: every attribute × every source", () => {
  for (const attr of Object.keys(FACTS) as (keyof typeof FACTS)[]) {
    const fact = FACTS[attr];
    const cases: [Level, { provider: boolean; endpoint: boolean }][] = [
      ["endpoint", { provider: true, endpoint: true }],
      ["endpoint", { provider: false, endpoint: true }],
      ["provider", { provider: true, endpoint: false }],
      ["assumed", { provider: false, endpoint: false }],
    ];
    for (const [source, at] of cases) {
      it(`${attr} from ${source} (provider ${at.provider ? "states" : "silent"})`, () => {
        const endpoint = catalogWith(attr, at).byId.get("p/e")!;
        const effective = endpoint.policy[attr as keyof EffectivePolicy];
        expect(effective.source).toBe(source);
        expect(effective.value).toEqual(fact[source]);
        if (source === "endpoint") {
          expect(effective.evidence).toEqual({ url: ENDPOINT_EVIDENCE.url, verifiedOn: "2026-11-21" });
        } else if (source === "provider") {
          expect(effective.evidence).toEqual({
            url: PROVIDER_EVIDENCE.url,
            document: "Provider DPA",
            verifiedOn: "2026-11-22",
          });
        } else {
          expect(effective.evidence).toBeUndefined();
        }
        expect(endpoint.assumed.includes(attr)).toBe(source === "assumed");
        // the other attributes are untouched: all assumed
        for (const other of Object.keys(FACTS) as (keyof EffectivePolicy)[]) {
          if (other !== attr) expect(endpoint.policy[other].source).toBe("assumed");
        }
      });
    }
  }

  it("an endpoint with no stated policy is the worst case on every attribute", () => {
    const snapshot = buildSnapshot(parseCatalogFiles([file("p.yaml", ACME_YAML)]));
    const small = snapshot.byId.get("acme/small")!;
    expect(small.policy.residency).toEqual({ value: { region: null, country: null }, source: "assumed" });
    expect(small.policy.caching).toEqual({ value: "persistent", source: "assumed" });
    expect(small.policy.retentionDays.source).toBe("provider");
    expect(small.assumed).toEqual(["residency", "caching"]);
  });

  it("residency with only a region leaves the country unknown", () => {
    const yaml = ACME_YAML.replace("{ region: eu, country: DE }", "{ region: eu }");
    const large = buildSnapshot(parseCatalogFiles([file("p.yaml", yaml)])).byId.get("acme/large")!;
    expect(large.policy.residency.value).toEqual({ region: "eu", country: null });
    expect(large.policy.residency.source).toBe("endpoint");
  });

  it("per-fact evidence overrides nothing it does not name; block evidence covers all facts", () => {
    const yaml = ACME_YAML.replace(
      '  evidence: { url: "https://acme.example/dpa", document: "DPA v2", verified_on: 2026-11-22 }',
      "  evidence:\n    retention_days: { url: https://acme.example/retention, verified_on: 2026-11-20 }",
    );
    const large = buildSnapshot(parseCatalogFiles([file("p.yaml", yaml)])).byId.get("acme/large")!;
    expect(large.policy.retentionDays.evidence?.url).toBe("https://acme.example/retention");
    // trains_on_data is stated without evidence: it is still a provider fact, just unevidenced
    expect(large.policy.trainsOnData).toEqual({ value: false, source: "provider" });
  });
});

describe("availability", () => {
  const source = parseCatalogFiles([file("p.yaml", ACME_YAML)]);

  it("marks an endpoint unavailable when its api_key_env is unset or empty, never drops it", () => {
    for (const env of [{}, { ACME_API_KEY: "" }]) {
      const snapshot = buildSnapshot(source, { env });
      const large = snapshot.byId.get("acme/large")!;
      expect(large.available).toBe(false);
      expect(large.unavailableReason).toContain("ACME_API_KEY");
      expect(snapshot.endpoints).toHaveLength(2);
    }
  });

  it("is available when the credential is set, or when none is needed", () => {
    const snapshot = buildSnapshot(source, { env: { ACME_API_KEY: "sk-test" } });
    expect(snapshot.byId.get("acme/large")?.available).toBe(true);
    expect(snapshot.byId.get("acme/large")?.unavailableReason).toBeUndefined();
    expect(buildSnapshot(source).byId.get("acme/small")?.available).toBe(true);
  });

  it("availability is not part of the revision", () => {
    expect(buildSnapshot(source, { env: { ACME_API_KEY: "x" } }).revision).toBe(
      buildSnapshot(source).revision,
    );
  });
});

describe("snapshots and revisions", () => {
  const BETA = ACME_YAML.replace("provider: acme", "provider: beta").replaceAll("id: acme/", "id: beta/");

  it("indexes endpoints by id and by model", () => {
    const snapshot = buildSnapshot(parseCatalogFiles([file("a.yaml", ACME_YAML), file("b.yaml", BETA)]));
    expect([...snapshot.byId.keys()]).toEqual(["acme/large", "acme/small", "beta/large", "beta/small"]);
    expect(snapshot.byModel.get("acme/large")?.map((e) => e.id)).toEqual(["acme/large", "beta/large"]);
    expect(snapshot.providers.map((p) => [p.slug, p.endpointIds])).toEqual([
      ["acme", ["acme/large", "acme/small"]],
      ["beta", ["beta/large", "beta/small"]],
    ]);
    expect(Object.isFrozen(snapshot.byId.get("acme/large"))).toBe(true);
    expect(Object.isFrozen(snapshot.byId.get("acme/large")?.policy.retentionDays)).toBe(true);
  });

  it("same content in another key order, endpoint order, file order or file split → same revision", () => {
    const a = buildSnapshot(parseCatalogFiles([file("a.yaml", ACME_YAML), file("b.yaml", BETA)]));
    const reordered = ACME_YAML.replace(
      "name: Acme AI\nheadquarters: DE",
      "headquarters: DE\nname: Acme AI",
    ).replace("pricing: { prompt: 2.0, completion: 6.0 }", "pricing: { completion: 6, prompt: 2 }");
    const [head, large, small] = reordered.split(/(?= {2}- id: )/);
    const swapped = `${head}${small}${large?.trimEnd()}\n`;
    const b = buildSnapshot(parseCatalogFiles([file("z.yaml", BETA), file("y.yaml", swapped)]));
    const c = buildSnapshot(parseCatalogFiles([file("one.yaml", `${BETA}---\n${ACME_YAML}`)]));
    expect(b.revision).toBe(a.revision);
    expect(c.revision).toBe(a.revision);
    expect(a.revision).toMatch(/^[0-9a-f]{64}$/);
  });

  it("any change of content → a new revision", () => {
    const base = buildSnapshot(parseCatalogFiles([file("a.yaml", ACME_YAML)])).revision;
    const changes = [
      ACME_YAML.replace("prompt: 2.0", "prompt: 2.5"),
      ACME_YAML.replace("retention_days: 30", "retention_days: 31"),
      ACME_YAML.replace("verified_on: 2026-11-22", "verified_on: 2026-11-23"),
    ];
    const revisions = changes.map((y) => buildSnapshot(parseCatalogFiles([file("a.yaml", y)])).revision);
    expect(new Set([base, ...revisions]).size).toBe(4);
  });

  it("interpolation happens before hashing: another base URL is another revision", () => {
    const yaml = ACME_YAML.replace(
      "base_url: https://api.acme.example/v1",
      // biome-ignore lint/suspicious/noTemplateCurlyInString: the catalog's own ${VAR} syntax
      "base_url: ${ACME_URL:-http://127.0.0.1:9}/v1",
    );
    const a = buildSnapshot(parseCatalogFiles([file("a.yaml", yaml)], { env: {} }));
    const b = buildSnapshot(parseCatalogFiles([file("a.yaml", yaml)], { env: { ACME_URL: "http://h:1" } }));
    expect(a.canonical).toContain("http://127.0.0.1:9/v1");
    expect(a.revision).not.toBe(b.revision);
  });

  it("snapshotFromCanonical rebuilds the exact snapshot of a stored revision", () => {
    const original = buildSnapshot(parseCatalogFiles([file("a.yaml", ACME_YAML), file("b.yaml", BETA)]));
    const rebuilt = snapshotFromCanonical(original.canonical);
    expect(rebuilt.revision).toBe(original.revision);
    expect(rebuilt.canonical).toBe(original.canonical);
    expect(rebuilt.endpoints).toEqual(original.endpoints);
    expect(rebuilt.providers).toEqual(original.providers);
  });

  it("snapshotFromCanonical rejects non-canonical, invalid or non-JSON input", () => {
    const { canonical } = buildSnapshot(parseCatalogFiles([file("a.yaml", ACME_YAML)]));
    const pretty = JSON.stringify(JSON.parse(canonical), null, 2);
    expect(() => snapshotFromCanonical(pretty)).toThrow(/not in canonical form/);
    expect(() =>
      snapshotFromCanonical(canonical.replace('"headquarters":"DE"', '"headquarters":"ZZ"')),
    ).toThrow(CatalogValidationError);
    expect(() => snapshotFromCanonical("{")).toThrow(/not JSON/);
  });
});
