import { execFile } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
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

  it("keeps the thread's cap when the process runs with the request thread's --max-semi-space-size", async () => {
    // V8's flags are process-wide: every shipped start passes --max-semi-space-size=8 for the
    // request thread, and that flag overrode the thread's own limit (its heap could take 18 MiB
    // more). Two processes, with and without the flag: the thread's heap limit must not differ.
    const threadHeapLimit = async (flags: string[]) => {
      const module = fileURLToPath(new URL("./pglite-memory.ts", import.meta.url));
      const script = `const { openEmbedded } = await import(${JSON.stringify(module)});
        const db = await openEmbedded("memory://");
        const h = await db.heapStatistics();
        await db.close();
        console.log(JSON.stringify({ limit: h.heap_size_limit }));`;
      const dir = await mkdtemp(join(tmpdir(), "sovr-thread-heap-"));
      try {
        await writeFile(join(dir, "probe.mjs"), script);
        const { stdout } = await promisify(execFile)(
          process.execPath,
          [...flags, "--import", "tsx", join(dir, "probe.mjs")],
          { timeout: 60_000 },
        );
        return (JSON.parse(stdout.trim().split("\n").at(-1)!) as { limit: number }).limit;
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    };
    const [withFlag, without] = await Promise.all([
      threadHeapLimit(["--max-semi-space-size=8"]),
      threadHeapLimit([]),
    ]);
    expect(withFlag).toBeGreaterThan(0);
    expect(withFlag).toBe(without);
  }, 90_000);
});
