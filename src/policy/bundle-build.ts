import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { copyFile, mkdir, mkdtemp, readdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join, relative, resolve, sep } from "node:path";
import { pathToFileURL } from "node:url";
import { promisify } from "node:util";
import { ENTRYPOINT, readBundle } from "./bundle.js";
import {
  ATTRIBUTE_KEYS_ENTRYPOINT,
  CATALOG_PROBLEMS_ENTRYPOINT,
  checkEndpointAccess,
  ENDPOINT_IDS_METADATA,
} from "./endpoint-access.js";
import { PolicyBuildError } from "./errors.js";
import { analyseInputUse, inputUseMetadata } from "./input-paths.js";
import { repoRoot, resolveOpaBin } from "./opa-bin.js";

const run = promisify(execFile);

/** Signing algorithms `opa build --signing-alg` and our verifier both support. */
export type SigningAlgorithm = "EdDSA" | "ES256" | "ES384" | "ES512" | "RS256" | "PS256";

export interface BuildPolicyBundleOptions {
  /** Directory with the Rego sources and data.json (default `<repo>/policies`). */
  sourceDir?: string;
  /** Where the bundle is written (default `<sourceDir>/dist/bundle.tar.gz`), atomically. */
  outFile?: string;
  /** PEM private key to sign the bundle with (`.signatures.json`). */
  signingKeyFile?: string;
  /** Algorithm of the signing key (default `EdDSA`, i.e. an Ed25519 key). */
  signingAlg?: SigningAlgorithm;
  /** Key id written into the signature (`kid`); default `default`, as opa does. */
  signingKeyId?: string;
  /** The opa binary (default: {@link resolveOpaBin}). */
  opaBin?: string;
}

export interface BuiltBundle {
  outFile: string;
  /** Manifest revision: {@link sourceRevision} of the sources. */
  revision: string;
  /** sha256 (hex) of the written tarball. */
  sha256: string;
  /** Source files that went into the bundle, relative to sourceDir. */
  sources: string[];
  /**
   * Whether the rules read the candidates only through `lib.endpoints`, so the router passes
   * endpoint ids and keeps the endpoints in data (fast); otherwise every request carries the
   * endpoints inline (correct, slower) and {@link endpointAccessProblems} says why.
   */
  endpointIds: boolean;
  /** References that keep the bundle on inline endpoints (see {@link checkEndpointAccess}). */
  endpointAccessProblems: string[];
  /** The manifest declares the input paths read and time independence (decisions may be cached). */
  timeIndependent: boolean;
}

/**
 * The bundle sources under `sourceDir`: `*.rego` except `*_test.rego`, and `data.json`
 * files; dot-directories and `dist/` are skipped. Sorted, relative, `/`-separated.
 */
export async function listPolicySources(sourceDir: string): Promise<string[]> {
  const entries = await readdir(sourceDir, { recursive: true, withFileTypes: true });
  const out: string[] = [];
  for (const entry of entries) {
    if (!entry.isFile()) continue;
    const rel = relative(sourceDir, join(entry.parentPath, entry.name)).split(sep).join("/");
    const parts = rel.split("/");
    if (parts[0] === "dist" || parts.some((p) => p.startsWith("."))) continue;
    const isRego = entry.name.endsWith(".rego") && !entry.name.endsWith("_test.rego");
    if (isRego || entry.name === "data.json") out.push(rel);
  }
  return out.sort();
}

/**
 * The bundle revision: sha256 (hex) over the sorted sources, each contributing
 * `<path>\0<byte length>\0<bytes>`, so renaming, moving or editing any source changes it.
 */
export async function sourceRevision(sourceDir: string, sources?: string[]): Promise<string> {
  const hash = createHash("sha256");
  for (const rel of sources ?? (await listPolicySources(sourceDir))) {
    const bytes = await readFile(join(sourceDir, rel));
    hash.update(`${rel}\0${bytes.length}\0`);
    hash.update(bytes);
  }
  return hash.digest("hex");
}

/**
 * Builds the policy bundle: `opa build -b -t wasm -e sovereign/route [-e sovereign/lib/catalog_problems [-e sovereign/lib/attribute_keys]] --revision <sources
 * sha256>` over a staging copy of the sources (tests and dist excluded), optionally signed.
 * The result is read back with {@link readBundle} before it replaces `outFile`.
 *
 * @example
 * const built = await buildPolicyBundle({ signingKeyFile: "keys/policy.pem" });
 * console.log(built.revision, built.sha256);
 */
export async function buildPolicyBundle(options: BuildPolicyBundleOptions = {}): Promise<BuiltBundle> {
  const sourceDir = resolve(options.sourceDir ?? join(repoRoot(), "policies"));
  const outFile = resolve(options.outFile ?? join(sourceDir, "dist", "bundle.tar.gz"));
  const opa = options.opaBin ?? resolveOpaBin();
  const sources = await listPolicySources(sourceDir);
  if (!sources.some((s) => s.endsWith(".rego")))
    throw new PolicyBuildError(`no Rego sources in ${sourceDir}`);
  const revision = await sourceRevision(sourceDir, sources);

  const stage = await mkdtemp(join(tmpdir(), "sovr-policy-"));
  try {
    const staged = join(stage, "src");
    for (const rel of sources) {
      await mkdir(dirname(join(staged, rel)), { recursive: true });
      await copyFile(join(sourceDir, rel), join(staged, rel));
    }
    // Rules that read the candidates only through lib.endpoints get endpoint ids and the
    // catalog as data; the marker goes into the (signed) manifest for the engine to see.
    const regoFiles = sources.filter((s) => s.endsWith(".rego"));
    const parseFailed = (cause: unknown): never => {
      const e = cause as { code?: string; stderr?: string; message: string };
      const detail =
        e.code === "ENOENT" ? `${opa} not found (run scripts/install-opa.sh)` : e.stderr || e.message;
      throw new PolicyBuildError(`opa parse failed: ${detail.trim()}`, { cause });
    };
    const endpointAccessProblems = await checkEndpointAccess(opa, staged, regoFiles).catch(parseFailed);
    // The input paths the rules read, and whether they are time-independent (decision cache).
    const inputUse = inputUseMetadata(await analyseInputUse(opa, staged, regoFiles).catch(parseFailed));
    for (const rel of sources.filter((s) => s === "data.json" || s.startsWith("catalog/"))) {
      // (Invalid JSON is opa build's to report.)
      const data =
        rel === "data.json" ? await readFile(join(staged, rel), "utf8").then(JSON.parse, () => ({})) : {};
      if (rel !== "data.json" || Object.hasOwn(data as object, "catalog"))
        endpointAccessProblems.push(`${rel}: defines data.catalog, where the router loads the endpoints`);
    }
    const endpointIds = endpointAccessProblems.length === 0;
    if (endpointIds) {
      // Candidates by position in data.catalog.ids when the rules read them so (lib.endpoints).
      const positions = inputUse.decision_input?.some((p) => p[0] === "endpoint_at") === true;
      const marker = {
        ...ENDPOINT_IDS_METADATA.sovereign_router,
        ...inputUse,
        ...(positions ? { endpoint_at: true } : {}),
      };
      await writeFile(join(staged, ".manifest"), JSON.stringify({ metadata: { sovereign_router: marker } }));
    }

    const tmpOut = join(stage, "bundle.tar.gz");
    const args = ["build", "-b", "-t", "wasm", "-e", ENTRYPOINT, "--revision", revision, "-o", tmpOut];
    // Only bundles whose candidates come named (by position, or by id before 2026-12-03) get
    // the catalog's known problems (and the attributes' keys into them) loaded.
    if (endpointIds && (await definesLibRule(staged, regoFiles, "catalog_problems"))) {
      args.push("-e", CATALOG_PROBLEMS_ENTRYPOINT);
      if (await definesLibRule(staged, regoFiles, "attribute_keys"))
        args.push("-e", ATTRIBUTE_KEYS_ENTRYPOINT);
    }
    if (options.signingKeyFile) {
      args.push("--signing-key", resolve(options.signingKeyFile));
      args.push("--signing-alg", options.signingAlg ?? "EdDSA");
      if (options.signingKeyId) args.push("--claims-file", await writeClaims(stage, options.signingKeyId));
    }
    args.push(".");
    try {
      await run(opa, args, { cwd: staged, maxBuffer: 16 * 1024 * 1024 });
    } catch (cause) {
      const e = cause as { code?: string; stdout?: string; stderr?: string; message: string };
      const output = `${e.stdout ?? ""}${e.stderr ?? ""}`.trim();
      const detail =
        e.code === "ENOENT" ? `${opa} not found (run scripts/install-opa.sh)` : output || e.message;
      throw new PolicyBuildError(`opa build failed: ${detail.trim()}`, { cause });
    }
    const bytes = await readFile(tmpOut);
    const bundle = await readBundle(bytes);
    if (bundle.ref.revision !== revision)
      throw new PolicyBuildError("built bundle carries the wrong revision");
    await mkdir(dirname(outFile), { recursive: true });
    const partial = `${outFile}.${process.pid}.tmp`;
    await copyFile(tmpOut, partial);
    await rename(partial, outFile); // atomic: watchers never see half a bundle
    const timeIndependent = endpointIds && inputUse.time_independent === true;
    return {
      outFile,
      revision,
      sha256: bundle.ref.sha256,
      sources,
      endpointIds,
      endpointAccessProblems,
      timeIndependent,
    };
  } finally {
    await rm(stage, { recursive: true, force: true });
  }
}

/** Whether a module of package sovereign.lib defines rule `name` (opa build refuses an entrypoint that is not a rule). */
async function definesLibRule(dir: string, regoFiles: readonly string[], name: string): Promise<boolean> {
  const rule = new RegExp(`^${name}\\s*:=`, "m");
  for (const rel of regoFiles) {
    const text = await readFile(join(dir, rel), "utf8");
    if (/^package sovereign\.lib\s*$/m.test(text) && rule.test(text)) return true;
  }
  return false;
}

async function writeClaims(stage: string, keyId: string): Promise<string> {
  const file = join(stage, "claims.json");
  await writeFile(file, JSON.stringify({ keyid: keyId }));
  return file;
}

export interface BundleFreshness {
  fresh: boolean;
  /** Revision of the sources as they are now. */
  expected: string;
  /** Revision in the committed bundle's manifest, or null when it is missing or unreadable. */
  actual: string | null;
}

/**
 * CI check that the committed bundle was built from the current sources: rebuilds into a
 * temporary file (which also proves the sources compile) and compares its manifest
 * revision with the committed bundle's.
 */
export async function checkBundleFresh(
  options: { sourceDir?: string; bundleFile?: string; opaBin?: string } = {},
): Promise<BundleFreshness> {
  const sourceDir = resolve(options.sourceDir ?? join(repoRoot(), "policies"));
  const bundleFile = resolve(options.bundleFile ?? join(sourceDir, "dist", "bundle.tar.gz"));
  const tmp = await mkdtemp(join(tmpdir(), "sovr-policy-check-"));
  try {
    const rebuilt = await buildPolicyBundle({
      sourceDir,
      outFile: join(tmp, "bundle.tar.gz"),
      opaBin: options.opaBin,
    });
    let actual: string | null = null;
    try {
      actual = (await readBundle(await readFile(bundleFile))).ref.revision;
    } catch {
      actual = null;
    }
    return { fresh: actual === rebuilt.revision, expected: rebuilt.revision, actual };
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}

// `npx tsx src/policy/bundle-build.ts [--check]`: build (or check) the default bundle.
if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  const check = process.argv.includes("--check");
  const result = check ? await checkBundleFresh() : await buildPolicyBundle();
  console.log(JSON.stringify(result, null, 2));
  if (check && !(result as BundleFreshness).fresh) process.exit(1);
}
