/** Shared catalog fixtures: a valid provider document and helpers to vary it. */
import { type CatalogFile, type CatalogIssue, CatalogValidationError } from "../../src/catalog/index.js";

/** A valid provider with one endpoint (line numbers below are relied upon by tests). */
export const ACME_YAML = `provider: acme
name: Acme AI
headquarters: DE
policy:
  retention_days: 30
  trains_on_data: false
  evidence: { url: "https://acme.example/dpa", document: "DPA v2", verified_on: 2026-11-22 }
endpoints:
  - id: acme/large
    model: acme/large
    api: openai
    base_url: https://api.acme.example/v1
    api_key_env: ACME_API_KEY
    residency: { region: eu, country: DE }
    pricing: { prompt: 2.0, completion: 6.0 }
    context_length: 131072
  - id: acme/small
    model: acme/small
    api: openai
    base_url: https://api.acme.example/v1
    pricing: { prompt: 0.1, completion: 0.3 }
    context_length: 32768
`;

export function file(name: string, content: string): CatalogFile {
  return { name, content };
}

/** Runs `fn`, expects a CatalogValidationError and returns its issues. */
export function issuesOf(fn: () => unknown): readonly CatalogIssue[] {
  try {
    fn();
  } catch (err) {
    if (err instanceof CatalogValidationError) return err.issues;
    throw err;
  }
  throw new Error("expected a CatalogValidationError");
}
