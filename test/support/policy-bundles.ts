import { generateKeyPairSync } from "node:crypto";
import { cp, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  type BuildPolicyBundleOptions,
  type BuiltBundle,
  buildPolicyBundle,
} from "../../src/policy/bundle-build.js";
import { repoRoot } from "../../src/policy/opa-bin.js";
import type { PolicyEndpointInput, PolicyInput } from "../../src/policy/types.js";

/** Shared fixtures of the policy tests: real sources, real opa builds into temp dirs. */

export const POLICIES_DIR = join(repoRoot(), "policies");

/** A temp dir removed by the returned cleanup. */
export async function tempDir(
  prefix = "sovr-policy-test-",
): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

/**
 * Copies the shipped policies into `dir/policies`, adds or replaces `files` (relative path →
 * content), builds with the real opa into `outFile` and returns the tarball bytes.
 */
export async function buildVariant(
  dir: string,
  name: string,
  files: Record<string, string> = {},
  options: Omit<BuildPolicyBundleOptions, "sourceDir" | "outFile"> & { outFile?: string } = {},
): Promise<
  { bytes: Uint8Array } & Pick<
    BuiltBundle,
    "outFile" | "revision" | "sha256" | "endpointIds" | "endpointAccessProblems"
  >
> {
  const sourceDir = join(dir, `src-${name}`);
  await cp(POLICIES_DIR, sourceDir, {
    recursive: true,
    filter: (src) => !src.includes(`${join("policies", "dist")}`),
  });
  for (const [rel, content] of Object.entries(files)) await writeFile(join(sourceDir, rel), content);
  const outFile = options.outFile ?? join(dir, `${name}.tar.gz`);
  const built = await buildPolicyBundle({ ...options, sourceDir, outFile });
  return { ...built, bytes: await readFile(outFile) };
}

/**
 * An extra rule used to show that a new rule takes effect after a reload. It reads
 * `input.endpoints` directly, the old way, so its bundle gets the endpoints inline.
 */
export const BLOCK_PROVIDER_RULE = `package sovereign.route

deny[ep.id] contains "blocklist: provider blocked-ai is blocked (source: provider)" if {
	some ep in input.endpoints
	ep.provider == "blocked-ai"
}
`;

/** The same rule reading the candidates through lib.endpoints, as docs/policies.md shows. */
export const BLOCK_PROVIDER_RULE_LIB = `package sovereign.route

import data.sovereign.lib

deny[ep.id] contains "blocklist: provider blocked-ai is blocked (source: provider)" if {
	some ep in lib.endpoints
	ep.provider == "blocked-ai"
}
`;

/** A compliant EU endpoint; `overrides` replace top-level fields. */
export function endpoint(id: string, overrides: Partial<PolicyEndpointInput> = {}): PolicyEndpointInput {
  return {
    id,
    provider: "acme-ai",
    provider_headquarters: "DE",
    model: "acme/model-1",
    quantization: "bf16",
    pricing: { prompt: 1, completion: 2 },
    context_length: 32768,
    supported_parameters: ["temperature"],
    kind: "chat",
    input_modalities: ["text"],
    retention_days: { value: 0, source: "endpoint" },
    trains_on_data: { value: false, source: "provider" },
    residency: { value: { region: "eu", country: "FR" }, source: "endpoint" },
    caching: { value: "in_memory", source: "provider" },
    ...overrides,
  };
}

/** A policy input; `provider` are the request's routing preferences. */
export function policyInput(
  endpoints: PolicyEndpointInput[],
  opts: { provider?: Record<string, unknown>; region?: string | null; tenant?: string } = {},
): PolicyInput {
  return {
    request: {
      model: "acme/model-1",
      models: [],
      provider: opts.provider ?? {},
      region: opts.region ?? null,
      labels: {},
      estimated_prompt_tokens: 100,
      retention_parameters: [],
      modalities: ["text"],
      operation: "chat",
      max_tokens: 256,
      parameters: [],
    },
    principal: { tenant: opts.tenant ?? "default", workload: "test", roles: ["client"] },
    endpoints,
    now: "2026-03-01T12:00:00Z",
  };
}

/** A fresh Ed25519 key pair as PEM files in `dir` (what `opa build --signing-alg EdDSA` takes). */
export async function ed25519Keys(
  dir: string,
  name: string,
): Promise<{ privateFile: string; publicPem: string }> {
  const { privateKey, publicKey } = generateKeyPairSync("ed25519");
  const privateFile = join(dir, `${name}.pem`);
  await writeFile(privateFile, privateKey.export({ format: "pem", type: "pkcs8" }));
  return { privateFile, publicPem: publicKey.export({ format: "pem", type: "spki" }).toString() };
}

/**
 * `n` endpoints of every kind the rules tell apart, and some with odd attributes (unknown facts,
 * other regions and headquarters, other modalities, local ones), for differential tests.
 */
export function variedEndpoints(n: number): PolicyEndpointInput[] {
  const variants: Array<Partial<PolicyEndpointInput>> = [
    {},
    { retention_days: { value: 30, source: "provider" } },
    { retention_days: { value: null, source: "assumed" } },
    { trains_on_data: { value: true, source: "provider" } },
    { trains_on_data: { value: null, source: "assumed" } },
    { residency: { value: { region: "us", country: "US" }, source: "endpoint" } },
    { residency: { value: { region: "eu", country: "CH" }, source: "provider" } },
    { residency: { value: { region: null, country: null }, source: "assumed" } },
    { residency: { value: { region: "ap", country: "JP" }, source: "provider" } },
    { provider: "openai", provider_headquarters: "US" },
    { provider_headquarters: "" },
    { caching: { value: null, source: "assumed" } },
    { caching: { value: "persistent", source: "endpoint" } },
    { input_modalities: ["text", "image"] },
    { provider: "local", provider_headquarters: "DE", kind: "chat" },
    { provider: "local", provider_headquarters: "DE", local: true } as Partial<PolicyEndpointInput>,
  ];
  return Array.from({ length: n }, (_, i) => endpoint(`p${i % 7}/m-${i}`, variants[i % variants.length]));
}
