import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { PGliteWorker } from "./pglite-worker.js";

/** Single-user Postgres never checkpoints by itself (pglite-checkpoints.mjs): the thread does. */
describe("checkpoints of the embedded database", () => {
  const dirs: string[] = [];
  const open: PGliteWorker[] = [];
  afterEach(async () => {
    for (const db of open.splice(0)) await db.close();
    for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
  });

  const start = async (everyMs?: number) => {
    const dir = await mkdtemp(join(tmpdir(), "sovr-pglite-ckpt-"));
    dirs.push(dir);
    const location = join(dir, "pglite");
    // The smallest max_wal_size Postgres takes (two segments): due at 16 MB of WAL.
    const settings = ["-c", "max_wal_size=32MB", "-c", "min_wal_size=32MB"];
    await (await PGliteWorker.create(location, settings)).close(); // created, as openEmbedded does
    const db = await PGliteWorker.create(location, settings, { checkpointEveryMs: everyMs });
    open.push(db);
    return { db, location };
  };
  const redo = async (db: PGliteWorker) =>
    (await db.query<{ lsn: string }>("select redo_lsn::text as lsn from pg_control_checkpoint()")).rows[0]!
      .lsn;
  /** ~24 MB of WAL in a few statements. */
  const writeWal = async (db: PGliteWorker) => {
    await db.query("create table if not exists t (x text)");
    for (let i = 0; i < 8; i++)
      await db.query("insert into t select repeat(md5(random()::text), 30) from generate_series(1, 3000)");
  };

  it("runs one once the WAL since the last reaches half of max_wal_size, and pg_wal shrinks", async () => {
    const { db, location } = await start(50);
    const before = await redo(db);
    await writeWal(db);
    await expect.poll(() => redo(db), { timeout: 10_000, interval: 100 }).not.toBe(before);
    // Segments before the new redo point are removed or recycled: at most max_wal_size remains.
    await expect
      .poll(
        async () => (await readdir(join(location, "pg_wal"))).filter((f) => /^[0-9A-F]{24}$/.test(f)).length,
      )
      .toBeLessThanOrEqual(3);
  });

  it("runs none while the WAL stays small, nor inside an open transaction", async () => {
    const { db } = await start(50);
    const before = await redo(db);
    await db.query("create table u (x int)");
    await db.query("insert into u values (1)");
    await new Promise((r) => setTimeout(r, 300));
    expect(await redo(db)).toBe(before);
    // A transaction held open across checks (as the dialect holds one between statements).
    await db.query("begin");
    await writeWal(db);
    await new Promise((r) => setTimeout(r, 300));
    expect(await redo(db)).toBe(before);
    await db.query("commit");
    await expect.poll(() => redo(db), { timeout: 10_000, interval: 100 }).not.toBe(before);
  });
});
