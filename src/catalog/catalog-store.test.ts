/**
 * LiveCatalog and the change stream WatchCatalog is built on, on both databases: revisions are
 * stored once, a rejected or unchanged catalog notifies nobody, concurrent applies are seen in
 * the order they took effect, and a watcher ends when its signal aborts.
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { ACME_YAML, file } from "../../test/support/catalog-files.js";
import { type TestDatabaseHandle, testDatabases } from "../../test/support/databases.js";
import {
  type CatalogChange,
  CatalogValidationError,
  diffSnapshots,
  getRevision,
  LiveCatalog,
  localProviderSource,
  watchSnapshots,
} from "./index.js";

const V1 = [file("acme.yaml", ACME_YAML)];
const V2 = [file("acme.yaml", ACME_YAML.replace("completion: 6.0", "completion: 5.0"))];
const V3 = [
  file(
    "acme.yaml",
    ACME_YAML.replace("completion: 6.0", "completion: 5.0").replace(
      "  - id: acme/small\n    model: acme/small",
      "  - id: acme/tiny\n    model: acme/tiny",
    ),
  ),
];
const BAD = [file("acme.yaml", ACME_YAML.replace("headquarters: DE", "headquarters: XX"))];

describe.each(testDatabases)("LiveCatalog ($name)", (database) => {
  let db: TestDatabaseHandle;
  let catalog: LiveCatalog;
  beforeEach(async () => {
    db = await database.open();
    catalog = new LiveCatalog(db.db, {});
  });
  afterEach(async () => {
    await db?.close();
  });

  const rows = async () => (await db.db.selectFrom("catalog_revisions").select("revision").execute()).length;

  it("stores each revision once and notifies only real changes", async () => {
    const changes: CatalogChange[] = [];
    catalog.onChange((c) => changes.push(c));
    const a = await catalog.apply(V1);
    expect(a.changed).toBe(true);
    expect((await catalog.apply(V1)).changed).toBe(false);
    await expect(catalog.apply(BAD)).rejects.toBeInstanceOf(CatalogValidationError);
    expect(catalog.current().revision).toBe(a.snapshot.revision);
    const b = await catalog.apply(V2);
    await catalog.apply(V1); // back to a stored revision: a change, not a new row
    expect(changes.map((c) => c.snapshot.revision)).toEqual([
      a.snapshot.revision,
      b.snapshot.revision,
      a.snapshot.revision,
    ]);
    expect(changes.map((c) => c.previous?.revision)).toEqual([
      undefined,
      a.snapshot.revision,
      b.snapshot.revision,
    ]);
    expect(await rows()).toBe(2);
    const stored = await getRevision(db.db, a.snapshot.revision);
    expect(stored?.canonical).toBe(a.snapshot.canonical);
    expect((await catalog.revision(b.snapshot.revision))?.canonical).toBe(b.snapshot.canonical);
  });

  it("a local-models change its gate refuses leaves the models as they were for later applies", async () => {
    await catalog.apply(V1);
    const local = localProviderSource(
      [
        {
          name: "tiny",
          model: "local/tiny",
          file: "tiny.gguf",
          path: "/models/tiny.gguf",
          sha256: "a".repeat(64),
          source: "path",
          context_length: 2048,
          added_on: "2026-11-01",
        },
      ],
      undefined,
      "node-llama-cpp test",
    );
    let refuse = true;
    catalog.setGate(async () => {
      if (refuse) throw new Error("no record, no change");
    });
    await expect(catalog.setLocalProvider(local)).rejects.toThrow("no record, no change");
    refuse = false;
    // The next change (ApplyCatalog, the file watch) carries only what was recorded.
    const { snapshot } = await catalog.apply(V2);
    expect(snapshot.endpoints.map((e) => e.id)).not.toContain("local/tiny");
    expect(await catalog.setLocalProvider(local)).toBe(true);
    expect(catalog.current().endpoints.map((e) => e.id)).toContain("local/tiny");
  });

  it("applies concurrent catalogs one at a time, in call order", async () => {
    await catalog.apply(V1);
    const changes: CatalogChange[] = [];
    catalog.onChange((c) => changes.push(c));
    const results = await Promise.allSettled([
      catalog.apply(V2),
      catalog.apply(BAD),
      catalog.apply(V3),
      catalog.apply(V3),
    ]);
    expect(results.map((r) => r.status)).toEqual(["fulfilled", "rejected", "fulfilled", "fulfilled"]);
    expect(results.map((r) => (r.status === "fulfilled" ? r.value.changed : null))).toEqual([
      true,
      null,
      true,
      false,
    ]);
    // Each change's `previous` is exactly the snapshot it replaced.
    expect(changes).toHaveLength(2);
    expect(changes[1]?.previous).toBe(changes[0]?.snapshot);
    expect(catalog.current()).toBe(changes[1]?.snapshot);
  });

  it("streams the current snapshot, then every change, and ends when aborted", async () => {
    await catalog.apply(V1);
    const abort = new AbortController();
    const watch = watchSnapshots(catalog, abort.signal);
    const first = await watch.next();
    expect(first.value?.snapshot).toBe(catalog.current());
    // Two changes before the watcher reads again: both are delivered, in order.
    await catalog.apply(V2);
    await catalog.apply(V3);
    const second = await watch.next();
    const third = await watch.next();
    const d2 = diffSnapshots(first.value?.snapshot, second.value!.snapshot);
    const d3 = diffSnapshots(second.value?.snapshot, third.value!.snapshot);
    expect(d2).toEqual({ added: [], removed: [], changed: ["acme/large"] });
    expect(d3).toEqual({ added: ["acme/tiny"], removed: ["acme/small"], changed: [] });
    // Waiting for a change that never comes: abort ends the stream cleanly.
    const pending = watch.next();
    abort.abort();
    expect(await pending).toEqual({ done: true, value: undefined });
  });

  it("lists every endpoint as added against no previous snapshot", async () => {
    const { snapshot } = await catalog.apply(V1);
    expect(diffSnapshots(undefined, snapshot)).toEqual({
      added: ["acme/large", "acme/small"],
      removed: [],
      changed: [],
    });
  });
});
