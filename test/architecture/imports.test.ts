/**
 * The one import rule of src/ (issue 12), checked over the whole import graph.
 *
 * Folders are layers along a request's path, lowest first. A file may import
 *   - any file of its own folder directly (`./x.js`),
 *   - another folder only through that folder's public face, its `index.ts` (`../db/index.js`),
 *     and only a folder of a LOWER layer,
 *   - `src/gen` (generated protobuf code) from anywhere.
 * Inside `api/` each surface is its own folder; outside `api/` the surfaces are reached through
 * `api/index.ts` alone. A unit test (`x.test.ts`) may also import the shared test helpers of
 * `test/support/` (a throwaway database on both paths, catalog and bundle fixtures), which are
 * never built into dist/; nothing else in src/ reaches outside src/.
 *
 *   layer  folder          what lives there
 *   -----  --------------  -----------------------------------------------------------------
 *    0     concurrency/    running async work one at a time (SerialQueue)
 *    1     encoding/       canonical JSON, UUIDv7 ids, base64, the random pool
 *    2     config/         configuration, server-wide limits, private paths, env allow-lists
 *    3     detect/         content detectors: text → labelled spans (email, IBAN, keys, ...)
 *    4     telemetry/      logger, metrics
 *    5     db/             database handle, schema, migrations, embedded Postgres
 *    6     catalog/        provider/endpoint catalog: load, validate, resolve, store, watch
 *    7     auth/           API keys, access rules, Principal, BYOK store and admin, origins
 *    8     policy/         Rego bundles, the Wasm engine
 *    9     upstream/       provider adapters (OpenAI-compatible, Anthropic)
 *   10     audit/          the signed Merkle log, checkpoints, records, keys, verifier
 *   10½    budget/         budgets: store, reservations and settlements in the log's commits
 *   11     routing/        router, selection, decision records, audit recorder, durable retry
 *   12     replay/         re-deciding a recorded decision
 *   13     api/compat/     connect-es workarounds (lone surrogates, malformed requests, ...)
 *   14     api/grpc/       Connect services, message builders, interceptors, error boundary
 *   15     api/transport/  listeners, TLS, HTTP/2 guard, pre-auth, refusals, rate limits
 *   16     api/openai/     the OpenAI-compatible HTTP API
 *   17     api/anthropic/  the Anthropic Messages API (`POST /v1/messages`)
 *   18     api/http/       /healthz, /readyz, /metrics, the HTTP port's routing and auth
 *   19     api/            (index.ts only: the public face of all surfaces)
 *   20     simulator/      the upstream simulator
 *   21     app/            the composition root (`sovr serve` wiring)
 *   22     cli/            the `sovr` command
 */
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, posix, relative, resolve } from "node:path";
import { describe, expect, it } from "vitest";

const REPO = resolve(import.meta.dirname, "../..");

// Index = layer number (concurrency/ is layer 0, below encoding/).
const LAYERS = [
  "concurrency",
  "encoding",
  "config",
  "detect",
  "telemetry",
  "db",
  "catalog",
  "auth",
  "policy",
  "upstream",
  "audit",
  "budget",
  "routing",
  "replay",
  "api/compat",
  "api/grpc",
  "api/transport",
  "api/openai",
  "api/anthropic",
  "api/http",
  "api",
  "simulator",
  "app",
  "cli",
] as const;

/** Relative import/export-from specifiers of a biome-formatted TypeScript file, with lines. */
function importSpecifiers(text: string): { spec: string; line: number }[] {
  const out: { spec: string; line: number }[] = [];
  const patterns = [
    /^(?:import|export)\s[^;]*?\sfrom\s+"([^"]+)";/gm,
    /^import\s+"([^"]+)";/gm,
    /\bimport\(\s*"([^"]+)"\s*\)/g,
  ];
  for (const re of patterns)
    for (const m of text.matchAll(re)) {
      const spec = m[1] as string;
      if (spec.startsWith(".")) out.push({ spec, line: text.slice(0, m.index).split("\n").length });
    }
  return out;
}

/** The folder (module) a src/ path belongs to: "api/grpc" inside api/, else the top folder. */
function folderOf(path: string): string {
  const parts = path.split("/");
  if (parts[1] === "api" && parts.length >= 4) return `api/${parts[2]}`;
  return parts.length >= 3 ? (parts[1] as string) : "";
}

/** Every violation of the rule by `file` (a path relative to the repository, under src/). */
function violations(file: string, text: string): string[] {
  const found: string[] = [];
  const from = folderOf(file);
  const fromLayer = LAYERS.indexOf(from as (typeof LAYERS)[number]);
  if (fromLayer < 0) return [`${file}: folder "${from}" has no layer (add it to LAYERS in this test)`];
  for (const { spec, line } of importSpecifiers(text)) {
    const target = posix.normalize(posix.join(posix.dirname(file), spec)).replace(/\.js$/, ".ts");
    if (target.startsWith("src/gen/")) continue;
    const at = `${file}:${line} imports "${spec}"`;
    if (!target.startsWith("src/")) {
      if (!(file.endsWith(".test.ts") && target.startsWith("test/support/")))
        found.push(`${at}: outside src/ (only a unit test may, and only test/support/)`);
      continue;
    }
    const to = folderOf(target);
    if (to === from) continue;
    const toLayer = LAYERS.indexOf(to as (typeof LAYERS)[number]);
    if (toLayer < 0) {
      found.push(`${at}: target folder "${to}" has no layer`);
      continue;
    }
    // Outside api/, a surface is reached through api/index.ts.
    const face =
      to.startsWith("api/") && from !== "api" && !from.startsWith("api/")
        ? "src/api/index.ts"
        : `src/${to}/index.ts`;
    if (target !== face)
      found.push(
        `${at}: deep import into ${to}/ (import ${posix.relative(posix.dirname(file), face).replace(/\.ts$/, ".js")})`,
      );
    if (toLayer > fromLayer)
      found.push(`${at}: against the layer order (${from} is layer ${fromLayer}, ${to} is layer ${toLayer})`);
  }
  return found;
}

function sources(dir: string): string[] {
  return readdirSync(dir)
    .sort()
    .flatMap((name) => {
      const p = join(dir, name);
      if (statSync(p).isDirectory()) return p.endsWith(join("src", "gen")) ? [] : sources(p);
      return name.endsWith(".ts") ? [p] : [];
    });
}

describe("the import rule of src/", () => {
  it("has no deep imports across folders and no import against the layer order", () => {
    const files = sources(join(REPO, "src"));
    expect(files.length).toBeGreaterThan(100);
    const found = files.flatMap((p) =>
      violations(relative(REPO, p).split("\\").join("/"), readFileSync(p, "utf8")),
    );
    expect(found).toEqual([]);
  });

  it("names file, import and rule for each kind of violation", () => {
    expect(violations("src/db/x.ts", 'import { a } from "../catalog/index.js";\n')).toEqual([
      'src/db/x.ts:1 imports "../catalog/index.js": against the layer order (db is layer 5, catalog is layer 6)',
    ]);
    expect(violations("src/routing/x.ts", 'import type {\n  A,\n} from "../audit/record.js";\n')).toEqual([
      'src/routing/x.ts:1 imports "../audit/record.js": deep import into audit/ (import ../audit/index.js)',
    ]);
    expect(violations("src/app/x.ts", 'export { a } from "../api/grpc/index.js";\n')).toEqual([
      'src/app/x.ts:1 imports "../api/grpc/index.js": deep import into api/grpc/ (import ../api/index.js)',
    ]);
    expect(violations("src/api/openai/x.ts", 'import { a } from "../grpc/index.js";\n')).toEqual([]);
    expect(violations("src/cli/x.ts", 'import { a } from "../gen/sovereign/v1/router_pb.js";\n')).toEqual([]);
    expect(violations("src/newfolder/x.ts", "")[0]).toContain('folder "newfolder" has no layer');
    expect(violations("src/db/x.test.ts", 'import { a } from "../../test/support/databases.js";\n')).toEqual(
      [],
    );
    expect(violations("src/db/x.ts", 'import { a } from "../../test/support/databases.js";\n')).toEqual([
      'src/db/x.ts:1 imports "../../test/support/databases.js": outside src/ (only a unit test may, and only test/support/)',
    ]);
    expect(violations("src/db/x.test.ts", 'import { a } from "../../test/e2e/app.js";\n')).toEqual([
      'src/db/x.test.ts:1 imports "../../test/e2e/app.js": outside src/ (only a unit test may, and only test/support/)',
    ]);
  });
});
