import { execFile } from "node:child_process";
import { join } from "node:path";
import { promisify } from "node:util";
import type { LoadedPolicy } from "@open-policy-agent/opa-wasm";
import type { KnownProblems } from "./decision.js";
import type { PolicyEndpointInput } from "./types.js";

const run = promisify(execFile);

/**
 * Manifest metadata that tells the engine a bundle reads the candidates only through
 * `data.sovereign.lib.endpoints` (`.manifest` → `metadata.sovereign_router.endpoint_ids`).
 * Only such bundles get the candidates named instead of `endpoints` in their input — by
 * position in `data.catalog.ids` (`endpoint_at`) when the manifest also says
 * `endpoint_at: true` (its rules read `input.endpoint_at`), else by id (`endpoint_ids`); any
 * other bundle (built by hand with `opa build`, or with a rule reading `input.endpoints`) is
 * evaluated with the endpoints inline, which is always correct, only slower.
 */
export const ENDPOINT_IDS_METADATA = { sovereign_router: { endpoint_ids: true } } as const;

/**
 * The entrypoint a bundle may offer for problems that depend on an endpoint alone: evaluated
 * by the engine once per catalog revision with every catalog endpoint as `input.endpoints`,
 * its answer is loaded into `data.catalog.problems` (endpoint id → key → problem or null),
 * where `lib.known_problems` reads it for requests by endpoint id. Built only when the
 * sources define `catalog_problems` in package sovereign.lib.
 */
export const CATALOG_PROBLEMS_ENTRYPOINT = "sovereign/lib/catalog_problems";

/**
 * The entrypoint a bundle may offer beside {@link CATALOG_PROBLEMS_ENTRYPOINT}: each
 * request-independent attribute (as JSON text) → its key in the problems. Evaluated with them,
 * once per catalog revision, and loaded into `data.catalog.attribute_keys`, where
 * `lib.loaded_attribute_keys` reads it for requests by endpoint id. Built only when the sources
 * define `attribute_keys` in package sovereign.lib.
 */
export const ATTRIBUTE_KEYS_ENTRYPOINT = "sovereign/lib/attribute_keys";

/** Top-level `input` fields a rule may read; the candidates come from `lib.endpoints`. */
const INPUT_FIELDS = new Set(["request", "principal", "now"]);
/**
 * Rules of package sovereign.lib that turn `input.endpoints` / `input.endpoint_at` (or
 * `input.endpoint_ids`, bundles before 2026-12-03) into candidates — `endpoints`,
 * `endpoint_ids`, `candidate_keys`, `candidate_id` — and `known_problems` and
 * `loaded_attribute_keys`, which read what the engine loads beside them
 * (`data.catalog.problems_at` or `.problems` and `data.catalog.attribute_keys`, see
 * {@link CATALOG_PROBLEMS_ENTRYPOINT} and {@link ATTRIBUTE_KEYS_ENTRYPOINT}).
 */
const CANDIDATE_RULES = new Set([
  "endpoints",
  "endpoint_ids",
  "candidate_keys",
  "candidate_id",
  "known_problems",
  "loaded_attribute_keys",
]);

type Term = { type?: string; value?: unknown };
type Ast = {
  package?: { path?: Term[] };
  imports?: unknown[];
  rules?: Array<{ head?: Record<string, unknown> }>;
};

/**
 * Checks that the modules read the candidates only through `lib.endpoints` (so the router
 * may pass endpoint ids and load the endpoints as data): outside the `endpoints` and
 * `endpoint_ids` rules of package `sovereign.lib`, `input` may only be read as
 * `input.request`, `input.principal` or `input.now`, and `data.catalog` (where the router
 * loads the endpoints) not at all. Returns one line per offending reference, empty when
 * the bundle qualifies. Works on the parsed AST (`opa parse`), so comments and strings
 * do not count and aliases (`x := input`, `import input.endpoints`) are caught.
 */
export async function checkEndpointAccess(
  opa: string,
  dir: string,
  regoFiles: readonly string[],
): Promise<string[]> {
  const problems: string[] = [];
  for (const rel of regoFiles) {
    const { stdout } = await run(
      opa,
      ["parse", "--format", "json", "--json-include", "-comments", join(dir, rel)],
      {
        maxBuffer: 64 * 1024 * 1024,
      },
    );
    const ast = JSON.parse(stdout) as Ast;
    const pkg = (ast.package?.path ?? []).map((t) => String(t.value)).join(".");
    const report = (what: string) => problems.push(`${rel}: ${what}`);
    if (pkg === "data.catalog" || pkg.startsWith("data.catalog."))
      report("package under data.catalog, where the router loads the endpoints");
    walk(ast.imports, report);
    for (const rule of ast.rules ?? []) {
      if (pkg === "data.sovereign.lib" && CANDIDATE_RULES.has(ruleName(rule.head))) continue;
      walk(rule, report);
    }
  }
  return problems;
}

function ruleName(head: Record<string, unknown> | undefined): string {
  if (!head) return "";
  if (typeof head.name === "string" && head.name) return head.name;
  const ref = head.ref as Term[] | undefined;
  return ref?.[0] ? String(ref[0].value) : "";
}

function walk(node: unknown, report: (what: string) => void): void {
  if (Array.isArray(node)) {
    for (const x of node) walk(x, report);
    return;
  }
  if (typeof node !== "object" || node === null) return;
  const t = node as Term;
  if (t.type === "var" && (t.value === "input" || t.value === "data")) {
    report(`reads all of ${t.value}; read the candidates through lib.endpoints`);
    return;
  }
  if (t.type === "ref" && Array.isArray(t.value)) {
    const [head, first, ...rest] = t.value as Term[];
    if (head?.type === "var" && (head.value === "input" || head.value === "data")) {
      const field = first?.type === "string" ? String(first.value) : undefined;
      const what = first === undefined ? `all of ${head.value}` : `${head.value}.${field ?? "[…]"}`;
      if (head.value === "input" && (field === undefined || !INPUT_FIELDS.has(field)))
        report(`reads ${what}; read the candidates through lib.endpoints`);
      if (head.value === "data" && (field === undefined || field === "catalog"))
        report(`reads ${what}; read the candidates through lib.endpoints`);
      walk(first?.type === "string" ? rest : [first, ...rest], report);
      return;
    }
  }
  for (const v of Object.values(node)) walk(v, report);
}

/**
 * The bundle's `catalog_problems` for every endpoint of the catalog, or undefined
 * when the bundle has no such entrypoint or it fails: then requests by id examine every
 * attribute themselves, as inline requests always do (same decision, only slower). The
 * endpoints go in as `input.endpoints`, so the instance's current data.catalog is not read.
 */
export function catalogProblems(
  endpoints: readonly PolicyEndpointInput[],
  policy: LoadedPolicy,
): KnownProblems | undefined {
  const entrypoint = (policy.entrypoints as Record<string, number>)[CATALOG_PROBLEMS_ENTRYPOINT];
  if (entrypoint === undefined) return undefined;
  try {
    return objectResult(policy.evaluate({ endpoints }, entrypoint)) as KnownProblems | undefined;
  } catch {
    return undefined;
  }
}

/**
 * The bundle's `attribute_keys` (attribute as JSON text → key in the problems), or undefined
 * when the bundle has no such entrypoint or it fails: then requests by id find a check's key
 * by walking the attributes, as inline requests always do (same decision, only slower).
 */
export function attributeKeys(policy: LoadedPolicy): Record<string, number> | undefined {
  const entrypoint = (policy.entrypoints as Record<string, number>)[ATTRIBUTE_KEYS_ENTRYPOINT];
  if (entrypoint === undefined) return undefined;
  try {
    const result = objectResult(policy.evaluate({}, entrypoint));
    if (!result || !Object.values(result).every(Number.isInteger)) return undefined;
    return result as Record<string, number>;
  } catch {
    return undefined;
  }
}

/** The value of a result set of one object (`[{"result": {…}}]`), or undefined. */
function objectResult(raw: unknown): Record<string, unknown> | undefined {
  const result =
    Array.isArray(raw) && raw.length === 1 ? (raw[0] as { result?: unknown })?.result : undefined;
  return typeof result === "object" && result !== null && !Array.isArray(result)
    ? (result as Record<string, unknown>)
    : undefined;
}
