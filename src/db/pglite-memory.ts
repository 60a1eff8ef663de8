import { existsSync } from "node:fs";
import { join } from "node:path";
import { embeddedVacuumSettings } from "./pglite-vacuum-settings.js";
import { type MaintenanceEvent, PGliteWorker } from "./pglite-worker.js";

/**
 * The embedded database's memory, sized for an embedded default (docs/operations.md, "Memory").
 *
 * PGlite's Wasm memory only grows, and Postgres's shared memory is touched whole when it is set
 * up: with Postgres's stock `shared_buffers = 128MB` the database thread holds ~150 MiB from
 * the first second. The audit log's working set is the tail of a few tables and indexes, and
 * a page not in shared buffers is one read from the operating system's page cache away.
 */
export const DEFAULT_SHARED_BUFFERS_MIB = 16;

/**
 * WAL buffers as Postgres sized them for its stock 128 MB of shared buffers (1/32): a 512-record
 * audit transaction still fits without writing the WAL out part-way.
 */
const WAL_BUFFERS = "4MB";

/**
 * The database thread's V8 young generation (MiB: two 2 MiB semi-spaces and room for large
 * objects). Node's default lets it grow to 16 MiB semi-spaces, both resident once used (~32
 * MiB); the thread's JavaScript (PGlite's protocol parsing, the replies' rows) is small and
 * short-lived, and its scavenges stay cheap (docs/operations.md, "Memory"). The request
 * thread's is set by the node flag every start path passes (`--max-semi-space-size=8`).
 */
export const THREAD_YOUNG_GENERATION_MIB = 6;

/**
 * What a vacuum's dead-row list, an analyze's sample and an index build (a migration) may take
 * (Postgres: 64MB). In Wasm memory a peak stays resident for the life of the process; with the
 * outcomes' updates heap-only, a vacuum here finds few dead rows (pglite-vacuum.mjs).
 */
const MAINTENANCE_WORK_MEM = "16MB";

/** The `-c` settings the embedded Postgres starts with. */
export function embeddedSettings(sharedBuffersMiB = DEFAULT_SHARED_BUFFERS_MIB): string[] {
  return [
    "-c",
    `shared_buffers=${sharedBuffersMiB}MB`,
    "-c",
    `wal_buffers=${WAL_BUFFERS}`,
    "-c",
    `maintenance_work_mem=${MAINTENANCE_WORK_MEM}`,
  ];
}

/**
 * Opens the embedded database at `location` on its own thread. A directory that holds no
 * database yet is first created by a thread of its own, which then exits: PGlite creates a
 * database with a second Postgres instance and an in-memory copy of the new files, and a
 * thread never gives that memory back (~400 MiB, kept for the life of the process).
 */
export async function openEmbedded(
  location: string,
  opts: {
    sharedBuffersMiB?: number | undefined;
    /** Further `name=value` settings, after the shipped ones. */
    extra?: readonly string[] | undefined;
    vacuumEveryMs?: number | undefined;
    onMaintenance?: ((e: MaintenanceEvent) => void) | undefined;
  } = {},
): Promise<PGliteWorker> {
  const settings = [
    ...embeddedSettings(opts.sharedBuffersMiB),
    ...embeddedVacuumSettings(),
    ...(opts.extra ?? []).flatMap((s) => ["-c", s]),
  ];
  const limits = { youngGenerationMiB: THREAD_YOUNG_GENERATION_MIB };
  if (!location.startsWith("memory://") && !existsSync(join(location, "PG_VERSION"))) {
    const creator = await PGliteWorker.create(location, settings);
    await creator.close();
  }
  return PGliteWorker.create(location, settings, {
    limits,
    vacuumEveryMs: opts.vacuumEveryMs,
    onMaintenance: opts.onMaintenance,
  });
}
