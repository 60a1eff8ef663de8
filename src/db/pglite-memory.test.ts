import { afterAll, describe, expect, it } from "vitest";
import { embeddedSettings, openEmbedded, THREAD_YOUNG_GENERATION_MIB } from "./pglite-memory.js";
import type { PGliteWorker } from "./pglite-worker.js";

describe("the embedded database's memory settings", () => {
  let db: PGliteWorker | undefined;
  afterAll(async () => {
    await db?.close();
  });

  it("starts Postgres with the small shared_buffers, the WAL buffers of the stock size and 16 MB for maintenance", () => {
    expect(embeddedSettings()).toEqual([
      "-c",
      "shared_buffers=16MB",
      "-c",
      "wal_buffers=4MB",
      "-c",
      "maintenance_work_mem=16MB",
    ]);
    expect(embeddedSettings(64)).toContain("shared_buffers=64MB");
  });

  it("serves from a thread whose young generation is capped, rows many times that size included", async () => {
    expect(THREAD_YOUNG_GENERATION_MIB).toBeGreaterThanOrEqual(3);
    db = await openEmbedded("memory://");
    const settings = await db.query<{ shared_buffers: string }>("show shared_buffers");
    expect(settings.rows).toEqual([{ shared_buffers: "16MB" }]);
    // ~20 MiB of rows through a thread whose semi-spaces are 2 MiB: scavenges, no failure.
    const big = await db.query<{ n: number; s: string }>(
      "select g as n, repeat('x', 1000) as s from generate_series(1, 20000) g",
    );
    expect(big.rows).toHaveLength(20000);
    expect(big.rows[19999]).toEqual({ n: 20000, s: "x".repeat(1000) });
  });
});
