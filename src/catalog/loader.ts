/**
 * Reads catalog YAML and validates it *as a whole*: every file, every document, every cross-file
 * rule, collecting every issue with file, YAML path, line and reason. Nothing is returned unless
 * the whole catalog is valid — one bad file rejects everything (the caller keeps its running
 * catalog).
 */
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import {
  type Document,
  isMap,
  isPair,
  isScalar,
  isSeq,
  LineCounter,
  type Node,
  parseAllDocuments,
} from "yaml";
import type { z } from "zod";
import { type CatalogEnvPolicy, keyVarRefusal, urlVarRefusal } from "../config/index.js";
import { type Env, interpolateEnv, referencedVariables } from "./env-interpolation.js";
import { type CatalogIssue, CatalogValidationError } from "./errors.js";
import {
  type CatalogSource,
  catalogErrorMap,
  LOCAL_PROVIDER,
  type ProviderSource,
  providerSchema,
} from "./schema.js";
import { YAML_LIMITS, yamlTooDeep } from "./yaml-bounds.js";

export interface CatalogFile {
  /** Name used in error reports, e.g. `mistral.yaml`. */
  name: string;
  content: string;
}

export interface LoadOptions {
  /** Environment for `${VAR:-default}` in `base_url`; defaults to an empty environment. */
  env?: Env;
  /**
   * The variables `${VAR}` and `api_key_env` may name (the server's allow-lists). Without it
   * only the hard deny applies (server secrets and configuration are refused either way).
   */
  vars?: CatalogEnvPolicy;
}

type PathSegment = string | number;

/**
 * Parses and validates catalog files. Returns the catalog in canonical source order (providers
 * by slug, endpoints by id) with `base_url` interpolated; throws {@link CatalogValidationError}
 * with every issue otherwise.
 *
 * @example
 * const source = parseCatalogFiles([{ name: "sim.yaml", content }], { env: process.env });
 */
export function parseCatalogFiles(files: readonly CatalogFile[], options: LoadOptions = {}): CatalogSource {
  const env = options.env ?? {};
  const issues: CatalogIssue[] = [];
  const located: { provider: ProviderSource; file: string; doc: Document; lines: LineCounter }[] = [];

  if (files.length === 0) {
    issues.push({ file: "", path: "", message: "catalog has no files" });
  }
  for (const file of [...files].sort((a, b) => compare(a.name, b.name))) {
    const deepAt = yamlTooDeep(file.content);
    if (deepAt !== undefined) {
      issues.push({
        file: file.name,
        path: "",
        line: deepAt,
        message: `YAML nested deeper than ${YAML_LIMITS.depth} levels`,
      });
      continue;
    }
    const lines = new LineCounter();
    const docs = parseAllDocuments(file.content, { lineCounter: lines, uniqueKeys: true });
    const list = Array.isArray(docs) ? docs : [];
    let providers = 0;
    let syntaxError = false;
    for (const doc of list) {
      if (doc.errors.length > 0) {
        syntaxError = true;
        for (const err of doc.errors) {
          issues.push({
            file: file.name,
            path: "",
            ...(err.linePos ? { line: err.linePos[0].line } : {}),
            message: `YAML syntax: ${firstLine(err.message)}`,
          });
        }
        continue;
      }
      // An empty document, e.g. after a trailing `---`, holds no provider.
      if (doc.contents === null || (isScalar(doc.contents) && doc.contents.value === null)) continue;
      providers++;
      let raw: unknown;
      try {
        raw = doc.toJS({ maxAliasCount: YAML_LIMITS.aliases });
      } catch (err) {
        // yaml throws a ReferenceError for an alias bomb (and for an alias to nothing).
        if (!(err instanceof ReferenceError)) throw err;
        issues.push({
          file: file.name,
          path: "",
          message: `YAML aliases: ${firstLine(err.message)} (at most ${YAML_LIMITS.aliases} alias expansions)`,
        });
        continue;
      }
      const at = (path: PathSegment[], key = false) => locate(doc, lines, path, key);
      const interpolated = interpolateBaseUrls(raw, env, options.vars, (path, message) =>
        issues.push({ file: file.name, path: formatPath(path), ...at(path), message }),
      );
      const parsed = providerSchema.safeParse(interpolated, { error: catalogErrorMap });
      if (!parsed.success) {
        for (const issue of flattenIssues(parsed.error.issues, [])) {
          issues.push({
            file: file.name,
            path: formatPath(issue.path),
            ...at(issue.path, issue.key),
            message: issue.message,
          });
        }
        continue;
      }
      parsed.data.endpoints.forEach((endpoint, i) => {
        const name = endpoint.api_key_env;
        const refusal = name === undefined ? undefined : keyVarRefusal(name, options.vars);
        if (refusal === undefined) return;
        const path = ["endpoints", i, "api_key_env"];
        issues.push({ file: file.name, path: formatPath(path), ...at(path), message: refusal });
      });
      for (const path of localRefusals(parsed.data)) {
        issues.push({ file: file.name, path: formatPath(path), ...at(path), message: LOCAL_REFUSAL });
      }
      located.push({ provider: parsed.data, file: file.name, doc, lines });
    }
    if (providers === 0 && !syntaxError) {
      issues.push({ file: file.name, path: "", message: "file holds no provider" });
    }
  }

  // Cross-file rules: provider slugs and endpoint ids are unique across the whole catalog.
  const slugs = new Map<string, string>();
  const ids = new Map<string, string>();
  for (const { provider, file, doc, lines } of located) {
    const where = (path: PathSegment[]) => {
      const line = locate(doc, lines, path).line;
      return line === undefined ? file : `${file}:${line}`;
    };
    const firstSlug = slugs.get(provider.provider);
    if (firstSlug !== undefined) {
      issues.push({
        file,
        path: "provider",
        ...locate(doc, lines, ["provider"]),
        message: `duplicate provider "${provider.provider}" (first defined at ${firstSlug})`,
      });
    } else {
      slugs.set(provider.provider, where(["provider"]));
    }
    provider.endpoints.forEach((endpoint, i) => {
      const path = ["endpoints", i, "id"];
      const first = ids.get(endpoint.id);
      if (first !== undefined) {
        issues.push({
          file,
          path: formatPath(path),
          ...locate(doc, lines, path),
          message: `duplicate endpoint id "${endpoint.id}" (first defined at ${first})`,
        });
      } else {
        ids.set(endpoint.id, where(path));
      }
    });
  }

  if (issues.length > 0) throw new CatalogValidationError(issues);
  return normalizeSource(located.map((l) => l.provider));
}

const LOCAL_REFUSAL =
  "the local provider and api local come from the models directory (sovr models pull / add), not from catalog files";

/**
 * Where a catalog file claims the in-process runtime: its facts are established by construction
 * (source `runtime`), so only the models directory may state them (catalog/local-models.ts).
 */
function localRefusals(provider: ProviderSource): PathSegment[][] {
  const paths: PathSegment[][] = provider.provider === LOCAL_PROVIDER ? [["provider"]] : [];
  provider.endpoints.forEach((e, i) => {
    if (e.api === "local") paths.push(["endpoints", i, "api"]);
  });
  return paths;
}

/**
 * Loads every `*.yaml` / `*.yml` file of a directory (not recursive) with
 * {@link parseCatalogFiles}. A directory without catalog files is an error, so a mistyped
 * `SOVR_CATALOG_DIR` never yields an empty catalog.
 */
export async function loadCatalogDir(dir: string, options: LoadOptions = {}): Promise<CatalogSource> {
  let names: string[];
  try {
    names = (await readdir(dir, { withFileTypes: true }))
      .filter((d) => d.isFile() && /\.ya?ml$/.test(d.name))
      .map((d) => d.name);
  } catch (cause) {
    throw new CatalogValidationError(
      [{ file: dir, path: "", message: `cannot read catalog directory: ${(cause as Error).message}` }],
      { cause },
    );
  }
  if (names.length === 0) {
    throw new CatalogValidationError([
      { file: dir, path: "", message: "no *.yaml files in catalog directory" },
    ]);
  }
  const files = await Promise.all(
    names.map(async (name) => ({ name, content: await readFile(join(dir, name), "utf8") })),
  );
  return parseCatalogFiles(files, options);
}

/** Providers sorted by slug, endpoints by id: the order of the canonical form. */
export function normalizeSource(providers: readonly ProviderSource[]): CatalogSource {
  return {
    version: 1,
    providers: [...providers]
      .sort((a, b) => compare(a.provider, b.provider))
      .map((p) => ({ ...p, endpoints: [...p.endpoints].sort((a, b) => compare(a.id, b.id)) })),
  };
}

/** `endpoints[2].pricing.prompt` */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = "";
  for (const seg of path) {
    if (typeof seg === "number") out += `[${seg}]`;
    else if (typeof seg === "string" && /^[A-Za-z_][A-Za-z0-9_]*$/.test(seg)) out += out ? `.${seg}` : seg;
    else out += `[${JSON.stringify(String(seg))}]`;
  }
  return out;
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function firstLine(message: string): string {
  return message.split("\n")[0] ?? message;
}

/**
 * `${VAR}` in each `base_url`, after checking every referenced name against the allow-list: a
 * refused name is reported (by name, never its value) and nothing of it is read.
 */
function interpolateBaseUrls(
  raw: unknown,
  env: Env,
  vars: CatalogEnvPolicy | undefined,
  report: (path: PathSegment[], message: string) => void,
): unknown {
  if (typeof raw !== "object" || raw === null || !("endpoints" in raw) || !Array.isArray(raw.endpoints)) {
    return raw;
  }
  const endpoints = raw.endpoints.map((e: unknown, i: number) => {
    if (typeof e !== "object" || e === null || !("base_url" in e) || typeof e.base_url !== "string") return e;
    const refusals = referencedVariables(e.base_url)
      .map((name) => urlVarRefusal(name, vars))
      .filter((r) => r !== undefined);
    if (refusals.length > 0) {
      for (const r of new Set(refusals)) report(["endpoints", i, "base_url"], r);
      return { ...e, base_url: "http://unresolved.invalid" };
    }
    const result = interpolateEnv(e.base_url, env);
    if (!result.ok) {
      report(["endpoints", i, "base_url"], result.message);
      // Leave a valid placeholder so the rest of the endpoint is still checked.
      return { ...e, base_url: "http://unresolved.invalid" };
    }
    return { ...e, base_url: result.value };
  });
  return { ...raw, endpoints };
}

interface FlatIssue {
  path: PathSegment[];
  /** True when the issue is about the key itself (unknown key) rather than its value. */
  key: boolean;
  message: string;
}

/** Zod issues → one flat issue per problem: unknown keys one by one, unions by closest branch. */
function flattenIssues(issues: readonly z.core.$ZodIssue[], prefix: PathSegment[]): FlatIssue[] {
  const out: FlatIssue[] = [];
  for (const issue of issues) {
    const path = [...prefix, ...(issue.path as PathSegment[])];
    if (issue.code === "unrecognized_keys") {
      for (const key of issue.keys)
        out.push({ path: [...path, key], key: true, message: `unknown key "${key}"` });
    } else if (issue.code === "invalid_union" && issue.errors.length > 0) {
      // Report the branch that came closest (fewest issues): for `evidence`, a map with a
      // typo reads as "unknown key" rather than "expected an evidence object".
      const closest = [...issue.errors].sort((a, b) => a.length - b.length)[0] ?? [];
      out.push(...flattenIssues(closest, path));
    } else {
      out.push({ path, key: false, message: issue.message });
    }
  }
  return out;
}

/** Line of the node at `path`, or of its nearest existing ancestor. */
function locate(
  doc: Document,
  lines: LineCounter,
  path: readonly PathSegment[],
  key = false,
): { line?: number } {
  let node: unknown = doc.contents;
  let best: Node | null = isNode(node) ? node : null;
  for (const [i, seg] of path.entries()) {
    const last = i === path.length - 1;
    if (isMap(node)) {
      const pair = node.items.find((p) => isPair(p) && isScalar(p.key) && p.key.value === seg);
      if (!pair) break;
      if ((last && key) || pair.value === null) {
        if (isNode(pair.key)) best = pair.key;
        break;
      }
      node = pair.value;
    } else if (isSeq(node) && typeof seg === "number") {
      node = node.items[seg];
    } else {
      break;
    }
    if (!isNode(node)) break;
    best = node;
  }
  const offset = best?.range?.[0];
  return offset === undefined ? {} : { line: lines.linePos(offset).line };
}

function isNode(value: unknown): value is Node {
  return typeof value === "object" && value !== null && "range" in value;
}
