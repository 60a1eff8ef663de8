import { randomBytes } from "node:crypto";
import pg from "pg";
import { type DatabaseHandle, openDatabase } from "../../src/db/index.js";

/**
 * The databases store tests run against, in one loop: embedded PGlite always, and Postgres
 * when `DATABASE_URL` is set (CI sets it). Each opened database is fresh: PGlite in memory,
 * Postgres as a new database created for the test and dropped afterwards.
 */
export interface TestDatabase {
  readonly name: "pglite" | "postgres";
  open(): Promise<TestDatabaseHandle>;
}

export interface TestDatabaseHandle extends DatabaseHandle {
  /** Connection string of the fresh Postgres database (undefined for PGlite). */
  readonly url: string | undefined;
}

export const testDatabases: TestDatabase[] = [
  {
    name: "pglite",
    async open() {
      const h = await openDatabase({ dataDir: "memory://" });
      return { ...h, url: undefined, close: () => h.close() };
    },
  },
  ...(process.env.DATABASE_URL ? [postgres(process.env.DATABASE_URL)] : []),
];

function postgres(baseUrl: string): TestDatabase {
  return {
    name: "postgres",
    async open() {
      const url = await createFreshDatabase(baseUrl);
      const h = await openDatabase({ databaseUrl: url, poolSize: 4 });
      return {
        ...h,
        url,
        close: async () => {
          await h.close();
          await dropDatabase(baseUrl, url);
        },
      };
    },
  };
}

/** Creates an empty database next to the one `baseUrl` names; returns its URL. */
export async function createFreshDatabase(baseUrl: string): Promise<string> {
  const name = `sovr_t_${randomBytes(6).toString("hex")}`;
  const admin = new pg.Client({ connectionString: baseUrl });
  await admin.connect();
  try {
    await admin.query(`create database ${name}`);
  } finally {
    await admin.end();
  }
  const u = new URL(baseUrl);
  u.pathname = `/${name}`;
  return u.toString();
}

export async function dropDatabase(baseUrl: string, url: string): Promise<void> {
  const name = new URL(url).pathname.slice(1);
  const admin = new pg.Client({ connectionString: baseUrl });
  await admin.connect();
  try {
    await admin.query(`drop database if exists ${name} with (force)`);
  } finally {
    await admin.end();
  }
}
