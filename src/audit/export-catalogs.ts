/**
 * The catalog revisions an export carries (docs/audit.md §5): a decision record refers to each
 * candidate's model and data-policy attributes by its `catalog_revision`, the SHA-256 (hex) of
 * the catalog's RFC 8785 canonical JSON, instead of copying them per candidate. So that an
 * auditor can resolve those references offline, an export holds `catalogs/<revision>.json` for
 * every revision its decision records name: exactly the stored canonical bytes, whose SHA-256
 * anyone recomputes and compares with the file's name.
 *
 * Required for v2 decision records; a v1 decision's revision is checked when its file is there
 * (exports written before catalogs/ existed hold none, and keep verifying).
 */
import { createHash } from "node:crypto";
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import type { RecordHeader } from "./record.js";

/** The export's folder of catalog revisions, one `<revision>.json` each. */
export const CATALOGS_DIR = "catalogs";

const REVISION = /^[0-9a-f]{64}$/;

/** Whether `s` has the form of a catalog revision id (lower-case hex SHA-256), safe as a file name. */
export function isCatalogRevisionId(s: string): boolean {
  return REVISION.test(s);
}

/** The revision id of a catalog document: SHA-256 (hex) of its bytes (src/catalog/resolve.ts). */
export function catalogDocumentRevision(document: Uint8Array | string): string {
  return createHash("sha256").update(document).digest("hex");
}

/** The path of a revision's file in an export directory. */
export function catalogFileName(revision: string): string {
  return `${CATALOGS_DIR}/${revision}.json`;
}

/** A decision record's catalog reference: the revision, and whether the export must carry it. */
export function catalogReference(record: RecordHeader): { revision: string; required: boolean } | undefined {
  if (record.kind !== "decision" || typeof record.catalog_revision !== "string") return undefined;
  return { revision: record.catalog_revision, required: record.v === 2 };
}

/**
 * The catalog revision a record payload (canonical JSON bytes, as logged) refers to, for the
 * exporter: it reads only `kind` and `catalog_revision`, the verifier checks the rest.
 */
export function payloadCatalogRevision(payload: Uint8Array): string | undefined {
  let r: unknown;
  try {
    r = JSON.parse(new TextDecoder().decode(payload));
  } catch {
    return undefined; // not a record: the verifier names it
  }
  if (r === null || typeof r !== "object") return undefined;
  const rec = r as { kind?: unknown; catalog_revision?: unknown };
  return rec.kind === "decision" && typeof rec.catalog_revision === "string"
    ? rec.catalog_revision
    : undefined;
}

/** The revisions a verifier has seen referenced, each with the first record naming it. */
export class CatalogReferences {
  readonly #refs = new Map<string, { seq: number; required: boolean }>();

  note(record: RecordHeader, seq: number): void {
    const ref = catalogReference(record);
    if (!ref) return;
    const seen = this.#refs.get(ref.revision);
    if (!seen) this.#refs.set(ref.revision, { seq, required: ref.required });
    else if (ref.required && !seen.required) seen.required = true;
  }

  /** In order of first reference. */
  entries(): IterableIterator<[string, { seq: number; required: boolean }]> {
    return this.#refs.entries();
  }
}

/** What is wrong with an export's catalogs, naming the revision. */
export interface CatalogProblem {
  catalog: string;
  seq?: number;
  what: string;
}

/**
 * Checks `dir`'s catalogs/: each file is named `<revision>.json` and its SHA-256 is that
 * revision (in name order); then each referenced revision has its file (in order of first
 * reference) — a v2 decision's always, a v1 decision's when the folder has it. Returns the
 * first problem, or undefined; the number of catalog files otherwise goes to `found`.
 */
export async function checkCatalogs(
  dir: string,
  refs: CatalogReferences,
  found?: (count: number) => void,
): Promise<CatalogProblem | undefined> {
  let names: string[] = [];
  try {
    names = (await readdir(join(dir, CATALOGS_DIR))).sort();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
  }
  const present = new Set<string>();
  for (const name of names) {
    const revision = name.endsWith(".json") ? name.slice(0, -".json".length) : "";
    if (!isCatalogRevisionId(revision))
      return {
        catalog: name,
        what: `${CATALOGS_DIR}/${name}: not a catalog revision file (<64 hex digits>.json)`,
      };
    const actual = catalogDocumentRevision(await readFile(join(dir, CATALOGS_DIR, name)));
    if (actual !== revision)
      return {
        catalog: revision,
        what: `${catalogFileName(revision)}: content hashes to ${actual}, not ${revision}: the catalog revision was altered`,
      };
    present.add(revision);
  }
  for (const [revision, { seq, required }] of refs.entries()) {
    if (required && !present.has(revision))
      return {
        catalog: revision,
        seq,
        what: `catalog revision ${revision} (referenced by seq ${seq}) is missing: no ${catalogFileName(revision)}`,
      };
  }
  found?.(present.size);
  return undefined;
}
