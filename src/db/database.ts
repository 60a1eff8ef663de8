import { mkdir } from "node:fs/promises";
import { Kysely, type MigrationProvider, Migrator, PostgresDialect, sql } from "kysely";
import pg from "pg";
import { migrations } from "./migrations/index.js";
import { PGliteDialect } from "./pglite-dialect.js";
import { PGliteWorker } from "./pglite-worker.js";
import { PreparingPool } from "./postgres-pool.js";
import type { Database } from "./schema.js";

export type DatabaseKind = "pglite" | "postgres";

export interface DatabaseHandle {
  readonly db: Kysely<Database>;
  readonly kind: DatabaseKind;
  close(): Promise<void>;
}

export interface OpenDatabaseOptions {
  /** Postgres connection string; when absent, embedded PGlite in `dataDir`. */
  databaseUrl?: string | undefined;
  /** PGlite data directory; "memory://" for an in-memory database (tests). */
  dataDir?: string;
  poolSize?: number;
}

const INT8_OID = 20;

/**
 * Opens the database the configuration names and brings its schema up to date.
 * Both paths return int8 as a JS number (sequence numbers stay far below 2^53) so the same
 * queries see the same values.
 */
export async function openDatabase(opts: OpenDatabaseOptions): Promise<DatabaseHandle> {
  let handle: DatabaseHandle;
  if (opts.databaseUrl) {
    const pool = new pg.Pool({
      connectionString: opts.databaseUrl,
      max: opts.poolSize ?? 10,
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
    if (!dir.startsWith("memory://")) {
      await mkdir(dir, { recursive: true });
      location = `${dir}/pglite`;
    }
    // On its own thread: its Wasm and its synchronous file I/O stay off the request path.
    const pglite = await PGliteWorker.create(location);
    const db = new Kysely<Database>({ dialect: new PGliteDialect(pglite) });
    handle = { db, kind: "pglite", close: () => db.destroy() };
  }
  try {
    await migrateToLatest(handle.db);
  } catch (err) {
    await handle.close();
    throw err;
  }
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

/** Cheap liveness probe for /readyz. */
export async function pingDatabase(db: Kysely<Database>): Promise<void> {
  await sql`select 1`.execute(db);
}
