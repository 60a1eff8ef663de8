import { createHash } from "node:crypto";
import { cp, mkdir, mkdtemp, readdir, readFile, rename, rm, stat } from "node:fs/promises";
import { join, resolve } from "node:path";
import { openDatabase } from "../../src/db/index.js";

/**
 * An embedded database with every migration applied, to start test servers from (vitest
 * globalSetup). A fresh PGlite directory costs initdb and every migration — 4–8 s on a 2-core
 * machine, for each of the ~80 end-to-end files' servers — where copying this one costs a
 * fraction of it. It is made by the product's own `openDatabase` (the real migrations, then
 * closed cleanly), so a server started on a copy does what `sovr serve` does on a restart: finds
 * its schema current. The first start on an empty directory stays tested where it is the subject
 * (spawned servers: test/e2e/e2e-serve.test.ts, the database's own tests).
 *
 * Kept between runs in node_modules/.cache, named by a hash of src/db and PGlite's version: a
 * changed migration makes another template; one made halfway (a killed run) is never used, as
 * it is only renamed into place once closed.
 */
const REPO = resolve(import.meta.dirname, "../..");
const ENV = "SOVR_TEST_PGLITE_TEMPLATE";

export default async function setup(): Promise<void> {
  process.env[ENV] = await pgliteTemplate();
}

/** The template's PGlite directory, made if this checkout has none for its migrations yet. */
async function pgliteTemplate(): Promise<string> {
  const cache = join(REPO, "node_modules/.cache/sovr-tests");
  const dir = join(cache, `pglite-${await templateKey()}`);
  if (await exists(join(dir, "pglite"))) return join(dir, "pglite");
  await mkdir(cache, { recursive: true });
  const work = await mkdtemp(join(cache, "making-"));
  try {
    const h = await openDatabase({ dataDir: work });
    await h.close();
    await rename(work, dir).catch((err: NodeJS.ErrnoException) => {
      // Another run made it meanwhile: use theirs.
      if (err.code !== "ENOTEMPTY" && err.code !== "EEXIST") throw err;
    });
  } finally {
    await rm(work, { recursive: true, force: true });
  }
  return join(dir, "pglite");
}

/**
 * Puts a copy of the template where a server with `SOVR_DATA_DIR=dataDir` keeps its embedded
 * database. Without the template (a test run without the global setup) the server makes its own.
 */
export async function seedEmbeddedDatabase(dataDir: string): Promise<void> {
  const template = process.env[ENV];
  if (!template) return;
  // As the server would make it: private (a data directory open to others is refused).
  await mkdir(dataDir, { recursive: true, mode: 0o700 });
  await cp(template, join(dataDir, "pglite"), { recursive: true });
}

async function templateKey(): Promise<string> {
  const h = createHash("sha256");
  // The migrations and everything that opens the embedded database (its thread, its settings).
  const db = join(REPO, "src/db");
  const files = (await readdir(db, { recursive: true })).filter((f) => !f.endsWith(".test.ts")).sort();
  for (const f of files)
    if ((await stat(join(db, f))).isFile()) h.update(f).update(await readFile(join(db, f)));
  h.update(await readFile(join(REPO, "node_modules/@electric-sql/pglite/package.json")));
  return h.digest("hex").slice(0, 16);
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}
