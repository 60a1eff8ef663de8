import { createHash } from "node:crypto";
import { posix } from "node:path";
import { z } from "zod";
import { type BundleVerificationKey, verifyBundleSignature } from "./bundle-signature.js";
import { PolicyBundleError } from "./errors.js";
import { readTarGz } from "./tar.js";
import type { BundleRef } from "./types.js";

/** The entrypoint every Sovereign Router bundle must provide. */
export const ENTRYPOINT = "sovereign/route";

const manifestSchema = z.object({
  revision: z.string().min(1),
  roots: z.array(z.string()).optional(),
  wasm: z.array(z.object({ entrypoint: z.string(), module: z.string() })).optional(),
  rego_version: z.number().optional(),
  metadata: z.record(z.string(), z.unknown()).optional(),
});

/** `.manifest` of an OPA bundle (the fields we read). */
export type BundleManifest = z.infer<typeof manifestSchema>;

/** A bundle read from its tarball, verified when a key was given, ready for the engine. */
export interface PolicyBundle {
  /** The tarball as received; stored by sha256 for replay. */
  bytes: Uint8Array;
  ref: BundleRef;
  manifest: BundleManifest;
  /** Every file of the tarball (path without leading `/`). */
  files: ReadonlyMap<string, Uint8Array>;
  /** The Wasm module of the `sovereign/route` entrypoint. */
  wasm: Uint8Array;
  /** Base documents: every `data.json` merged at its directory path. */
  data: Record<string, unknown>;
  /** Whether the signature was verified (only when a key is configured). */
  verified: boolean;
}

export interface ReadBundleOptions {
  /** When set, the bundle must carry a valid signature by this key. */
  verificationKey?: BundleVerificationKey;
  /** Upper bound of the uncompressed size (default 64 MiB). */
  maxBytes?: number;
}

/**
 * Reads and checks an OPA bundle tarball (`opa build -t wasm -e sovereign/route`):
 * signature first (when a key is set), then manifest, Wasm module and data.
 *
 * @example
 * const bundle = await readBundle(await readFile("policies/dist/bundle.tar.gz"));
 * await engine.load(bundle);
 */
export async function readBundle(bytes: Uint8Array, options: ReadBundleOptions = {}): Promise<PolicyBundle> {
  const sha256 = createHash("sha256").update(bytes).digest("hex");
  const files = readTarGz(bytes, options.maxBytes);
  if (options.verificationKey) await verifyBundleSignature(files, options.verificationKey);

  const manifestBytes = files.get(".manifest");
  if (!manifestBytes) throw new PolicyBundleError("bundle has no .manifest");
  let manifestJson: unknown;
  try {
    manifestJson = JSON.parse(Buffer.from(manifestBytes).toString("utf8"));
  } catch (cause) {
    throw new PolicyBundleError(".manifest is not valid JSON", { cause });
  }
  const parsed = manifestSchema.safeParse(manifestJson);
  if (!parsed.success) throw new PolicyBundleError(`.manifest is malformed: ${parsed.error.message}`);
  const manifest = parsed.data;

  const module = (manifest.wasm ?? []).find((w) => w.entrypoint === ENTRYPOINT)?.module;
  if (!module) throw new PolicyBundleError(`bundle has no Wasm module for entrypoint ${ENTRYPOINT}`);
  const wasm = files.get(module.replace(/^\/+/, ""));
  if (!wasm) throw new PolicyBundleError(`bundle lacks ${module} named by its manifest`);

  return {
    bytes,
    ref: { revision: manifest.revision, sha256 },
    manifest,
    files,
    wasm,
    data: mergeData(files),
    verified: options.verificationKey !== undefined,
  };
}

/** OPA mounts `a/b/data.json` at `data.a.b`; a root `data.json` at `data`. */
function mergeData(files: ReadonlyMap<string, Uint8Array>): Record<string, unknown> {
  const data: Record<string, unknown> = {};
  const paths = [...files.keys()].filter((p) => posix.basename(p) === "data.json").sort();
  for (const path of paths) {
    let value: unknown;
    try {
      value = JSON.parse(Buffer.from(files.get(path)!).toString("utf8"));
    } catch (cause) {
      throw new PolicyBundleError(`${path} is not valid JSON`, { cause });
    }
    if (!isObject(value)) throw new PolicyBundleError(`${path} must hold a JSON object`);
    const dir = posix.dirname(path);
    let node = data;
    for (const key of dir === "." ? [] : dir.split("/")) {
      const child = node[key];
      if (child !== undefined && !isObject(child))
        throw new PolicyBundleError(`${path} conflicts with data.${key}`);
      node[key] = child ?? {};
      node = node[key] as Record<string, unknown>;
    }
    for (const [key, v] of Object.entries(value)) {
      if (key in node) throw new PolicyBundleError(`${path} redefines data key ${key}`);
      node[key] = v;
    }
  }
  for (const path of files.keys()) {
    if (posix.basename(path) === "data.yaml" || posix.basename(path) === "data.yml") {
      throw new PolicyBundleError(`${path}: YAML data files are not supported; use data.json`);
    }
  }
  return data;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}
