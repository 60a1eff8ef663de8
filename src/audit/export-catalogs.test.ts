import { createHash } from "node:crypto";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import {
  CatalogReferences,
  catalogDocumentRevision,
  catalogReference,
  checkCatalogs,
  payloadCatalogRevision,
} from "./export-catalogs.js";
import { ExportWriter, exportKeys } from "./export-format.js";
import type { RecordHeader } from "./record.js";

const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});
async function tempDir(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), "sovr-export-catalogs-"));
  dirs.push(d);
  return d;
}

// A catalog's canonical JSON with a non-ASCII character: the hash is over its UTF-8 bytes.
const DOC = '{"providers":[{"id":"müller","name":"Müller"}]}';
const REV = createHash("sha256").update(Buffer.from(DOC, "utf8")).digest("hex");

const decision = (v: 1 | 2, catalog_revision: string): RecordHeader => ({
  v,
  kind: "decision",
  decision_id: "d",
  time_us: 1,
  catalog_revision,
});

async function exportWith(files: Record<string, string>, refs: RecordHeader[]) {
  const dir = await tempDir();
  await mkdir(join(dir, "catalogs"));
  for (const [name, content] of Object.entries(files)) await writeFile(join(dir, "catalogs", name), content);
  const r = new CatalogReferences();
  refs.forEach((rec, seq) => r.note(rec, seq));
  return checkCatalogs(dir, r);
}

describe("catalog revisions in an export", () => {
  it("a revision is the SHA-256 (hex) of the document's UTF-8 bytes", () => {
    expect(catalogDocumentRevision(DOC)).toBe(REV);
    expect(catalogDocumentRevision(new TextEncoder().encode(DOC))).toBe(REV);
  });

  it("reads a decision's reference, required in v2 only", () => {
    expect(catalogReference(decision(2, REV))).toEqual({ revision: REV, required: true });
    expect(catalogReference(decision(1, REV))).toEqual({ revision: REV, required: false });
    expect(catalogReference({ v: 2, kind: "outcome", decision_id: "d", time_us: 1 })).toBeUndefined();
    const payload = new TextEncoder().encode(JSON.stringify({ kind: "decision", catalog_revision: REV }));
    expect(payloadCatalogRevision(payload)).toBe(REV);
    expect(payloadCatalogRevision(new TextEncoder().encode('{"kind":"outcome"}'))).toBeUndefined();
    expect(payloadCatalogRevision(new TextEncoder().encode("not json"))).toBeUndefined();
  });

  it("accepts files that hash to their names and cover every v2 reference", async () => {
    expect(await exportWith({ [`${REV}.json`]: DOC }, [decision(2, REV), decision(2, REV)])).toBeUndefined();
  });

  it("names a file whose bytes were altered (one byte)", async () => {
    const altered = DOC.replace("Müller", "Muller");
    const p = await exportWith({ [`${REV}.json`]: altered }, [decision(2, REV)]);
    expect(p?.catalog).toBe(REV);
    expect(p?.what).toContain(`content hashes to ${catalogDocumentRevision(altered)}, not ${REV}`);
  });

  it("names the first missing revision a v2 decision refers to", async () => {
    const other = "c".repeat(64);
    const p = await exportWith({ [`${REV}.json`]: DOC }, [decision(2, REV), decision(2, other)]);
    expect(p).toEqual({
      catalog: other,
      seq: 1,
      what: `catalog revision ${other} (referenced by seq 1) is missing: no catalogs/${other}.json`,
    });
  });

  it("does not require a v1 decision's revision, nor a catalogs/ folder", async () => {
    expect(await exportWith({}, [decision(1, REV)])).toBeUndefined();
    const r = new CatalogReferences();
    r.note(decision(1, REV), 0);
    expect(await checkCatalogs(await tempDir(), r)).toBeUndefined();
    // … but once a v2 decision refers to the same revision, it is required.
    r.note(decision(2, REV), 1);
    expect((await checkCatalogs(await tempDir(), r))?.catalog).toBe(REV);
  });

  it("refuses a file in catalogs/ that is not named for a revision", async () => {
    const p = await exportWith({ "notes.txt": "x" }, []);
    expect(p?.what).toContain("catalogs/notes.txt: not a catalog revision file");
  });

  it("the writer keeps the exact bytes and refuses a revision that could name another path", async () => {
    const dir = await tempDir();
    const w = await ExportWriter.open(dir, exportKeys("o", []), { faithful: true });
    const bytes = new TextEncoder().encode(DOC);
    await w.writeCatalog(REV, bytes);
    await expect(w.writeCatalog("../../etc/passwd", bytes)).rejects.toThrow(/not 64 hex digits/);
    expect(await w.close()).toEqual({ records: 0, checkpoints: 0, catalogs: 1 });
    expect(new Uint8Array(await readFile(join(dir, "catalogs", `${REV}.json`)))).toEqual(bytes);
    // Not faithful (an export written by this code): the document must hash to its name.
    const strict = await ExportWriter.open(await tempDir(), exportKeys("o", []));
    await expect(strict.writeCatalog("c".repeat(64), bytes)).rejects.toThrow(/hashes to something else/);
    await strict.close();
  });
});
