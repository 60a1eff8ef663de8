import { Kysely, type MigrationProvider, Migrator, PostgresDialect, sql } from "kysely";
import pg from "pg";
import { ensurePrivateDir } from "../config/index.js";
import { withDeadline } from "./deadline.js";
import { migrations } from "./migrations/index.js";
import { PGliteDialect } from "./pglite-dialect.js";
import { openEmbedded } from "./pglite-memory.js";
import type { MaintenanceEvent, PGliteWorker } from "./pglite-worker.js";
import { PreparingPool } from "./postgres-pool.js";
import type { Database } from "./schema.js";
import { StorageProbe } from "./storage-probe.js";

export type DatabaseKind = "pglite" | "postgres";

export interface DatabaseHandle {
  readonly db: Kysely<Database>;
  readonly kind: DatabaseKind;
  /** The embedded database's directory, for readiness; undefined for Postgres and in memory. */
  readonly storage?: StorageProbe | undefined;
  close(): Promise<void>;
}

export interface OpenDatabaseOptions {
  /** Postgres connection string; when absent, embedded PGlite in `dataDir`. */
  databaseUrl?: string | undefined;
  /** PGlite data directory; "memory://" for an in-memory database (tests). */
  dataDir?: string;
  poolSize?: number;
  /** Bound of a storage readiness check (default 5000 ms). */
  storageTimeoutMs?: number;
  /** The embedded database's shared buffers in MiB (default: pglite-memory.ts). */
  sharedBuffersMiB?: number;
  /** Further `-c name=value` start settings of the embedded database (bench/pglite-ab.ts). */
  pgliteSettings?: readonly string[];
  /** How often the embedded database's thread looks for vacuums due (default: pglite-vacuum.mjs). */
  embeddedVacuumEveryMs?: number;
  /** Hears the embedded database's vacuums, analyzes and failed checkpoints (for the log). */
  onEmbeddedMaintenance?: (e: MaintenanceEvent) => void;
}

/**
 * An embedded query unanswered for this long means its thread is wedged, not busy: it is
 * stopped and the database fails closed (see PGliteWorker.watch). Generous, because a query
 * holding the one connection that long has stalled every other request anyway.
 */
export const EMBEDDED_STALL_MS = 30_000;

const INT8_OID = 20;

/**
 * Opens the database the configuration names and brings its schema up to date.
 * Both paths return int8 as a JS number (sequence numbers stay far below 2^53) so the same
 * queries see the same values.
 */
export async function openDatabase(opts: OpenDatabaseOptions): Promise<DatabaseHandle> {
  let handle: DatabaseHandle;
  let embedded: PGliteWorker | undefined;
  if (opts.databaseUrl) {
    const pool = new pg.Pool({
      connectionString: opts.databaseUrl,
      max: opts.poolSize ?? 10,
      // Connections stay open (pg-pool closes one idle for 10 s by default). A new one pays the
      // login, and its first appends pay the statement's parse, the PL/pgSQL compile and five
      // custom plans — under the sequencer lock, stalling every request queued behind it; with
      // the default, connections opened for a burst closed and reopened all run long (issue 19).
      idleTimeoutMillis: 0,
      types: {
        getTypeParser: ((oid: number, format?: "text" | "binary") =>
          oid === INT8_OID ? Number : pg.types.getTypeParser(oid, format)) as typeof pg.types.getTypeParser,
      },
    });
    // A client losing its connection (Postgres restarted, failover) must not crash the process.
    // pg-pool listens for errors only on idle clients; a checked-out client between two
    // statements would emit an unhandled 'error'. The failing query still rejects, and the
    // pool discards the broken client when it is released.
    pool.on("error", () => {});
    pool.on("connect", (client) => client.on("error", () => {}));
    const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool: new PreparingPool(pool) }) });
    handle = { db, kind: "postgres", close: () => db.destroy() };
  } else {
    const dir = opts.dataDir ?? "./data";
    let location = dir;
    let storage: StorageProbe | undefined;
    if (!dir.startsWith("memory://")) {
      // PGlite makes its files 0666 and directories 0755 whatever the umask: this is the wall.
      await ensurePrivateDir(dir, "data directory");
      storage = await StorageProbe.open(dir, { timeoutMs: opts.storageTimeoutMs ?? 5000 });
      location = `${dir}/pglite`;
    }
    // On its own thread: its Wasm and its synchronous file I/O stay off the request path.
    embedded = await openEmbedded(location, {
      sharedBuffersMiB: opts.sharedBuffersMiB,
      extra: opts.pgliteSettings,
      vacuumEveryMs: opts.embeddedVacuumEveryMs,
      onMaintenance: opts.onEmbeddedMaintenance,
    });
    const db = new Kysely<Database>({ dialect: new PGliteDialect(embedded) });
    handle = {
      db,
      kind: "pglite",
      storage,
      close: () => {
        storage?.stop();
        return db.destroy();
      },
    };
  }
  try {
    await migrateToLatest(handle.db);
    // Before serving: a database never vacuumed (written before its thread vacuumed) is read
    // whole once, which no request should wait for (pglite-vacuum.mjs).
    const done = (await embedded?.vacuumNow()) ?? [];
    if (done.length > 0) opts.onEmbeddedMaintenance?.({ kind: "vacuumed", done });
  } catch (err) {
    await handle.close();
    throw err;
  }
  // Armed after the migrations and that vacuum, which may legitimately take long on a large database.
  embedded?.watch(EMBEDDED_STALL_MS);
  handle.storage?.start();
  return handle;
}

const provider: MigrationProvider = { getMigrations: async () => migrations };

/** Applies pending migrations; serialised across replicas by the migrator's own lock. */
export async function migrateToLatest(db: Kysely<Database>): Promise<void> {
  const { error, results } = await new Migrator({ db, provider }).migrateToLatest();
  if (error) {
    const failed = results?.find((r) => r.status === "Error");
    throw new Error(`database migration ${failed?.migrationName ?? "?"} failed`, { cause: error });
  }
}

/** Cheap liveness probe for /readyz, bounded: a wedged database reports, not hangs. */
export async function pingDatabase(db: Kysely<Database>, timeoutMs = 5000): Promise<void> {
  await withDeadline(sql`select 1`.execute(db), timeoutMs, "database");
}
