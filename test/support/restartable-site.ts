/**
 * A real server that can be stopped and started again on the same database and keys
 * directory (the fork tests cut the log in between), and the database opened by itself while
 * the server is down — as an operator with database access would.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { sql } from "kysely";
import { type App, startApp } from "../../src/app/index.js";
import { envelopePayload } from "../../src/audit/dsse.js";
import { decodeRecord, recordTenant } from "../../src/audit/record.js";
import { loadConfig } from "../../src/config/config.js";
import { type DatabaseHandle, openDatabase } from "../../src/db/index.js";
import { type Simulator, startSimulator } from "../../src/simulator/simulator.js";
import { createLogger } from "../../src/telemetry/logger.js";
import { REPO } from "./app.js";
import { createFreshDatabase, dropDatabase } from "./databases.js";
import { seedEmbeddedDatabase } from "./pglite-template.js";

export interface Site {
  dir: string;
  keysDir: string;
  /** Starts a server on this site's database and keys (rejects when start-up is refused). */
  boot(): Promise<App>;
  /** Opens the database alone (the server stopped), runs `fn`, closes it. */
  withDatabase<T>(fn: (db: DatabaseHandle["db"]) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

export async function openSite(
  database: "pglite" | "postgres",
  extraEnv: Record<string, string> = {},
): Promise<Site> {
  const dir = await mkdtemp(join(tmpdir(), "sovr-fork-"));
  const simulator: Simulator = await startSimulator();
  const base = process.env.DATABASE_URL;
  const dbUrl = database === "postgres" ? await createFreshDatabase(base!) : undefined;
  if (!dbUrl) await seedEmbeddedDatabase(join(dir, "data"));
  const env: Record<string, string | undefined> = {
    SOVR_GRPC_PORT: "0",
    SOVR_HTTP_PORT: "0",
    SOVR_SIMULATOR: "off",
    SOVR_DATA_DIR: join(dir, "data"),
    SOVR_KEYS_DIR: join(dir, "keys"),
    SOVR_CATALOG_DIR: join(REPO, "test/fixtures/catalog"),
    SOVR_POLICY_BUNDLE: join(REPO, "policies/dist/bundle.tar.gz"),
    SOVR_AUTH: "off",
    SOVR_DRAIN_MS: "2000",
    SOVR_CHECKPOINT_EVERY: "4",
    SOVR_CHECKPOINT_INTERVAL_MS: "60000",
    DATABASE_URL: dbUrl,
    ...extraEnv,
  };
  const config = loadConfig(env);
  const quiet = new Writable({ write: (_c, _e, cb) => cb() });
  return {
    dir,
    keysDir: config.keysDir,
    boot: () =>
      startApp(config, {
        logger: createLogger("error", quiet),
        env: { ...process.env, ...env, SOVR_SIMULATOR_URL: simulator.url },
      }),
    async withDatabase(fn) {
      const h = await openDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir });
      try {
        return await fn(h.db);
      } finally {
        await h.close();
      }
    },
    async close() {
      await simulator.close();
      if (dbUrl) await dropDatabase(base!, dbUrl);
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** Runs `change` with the log's append-only trigger off, as the table owner could. */
export async function bypassAppendOnly(
  db: DatabaseHandle["db"],
  change: () => Promise<unknown>,
): Promise<void> {
  await sql`alter table audit_log disable trigger audit_log_no_update`.execute(db);
  try {
    await change();
  } finally {
    await sql`alter table audit_log enable trigger audit_log_no_update`.execute(db);
  }
}

/**
 * Deletes entries `seq >= from`, their rows in the query indexes, and every checkpoint covering
 * any of them: a thorough cut, after which the database takes the re-issued numbers.
 */
export async function cutTail(db: DatabaseHandle["db"], from: number): Promise<void> {
  await bypassAppendOnly(db, async () => {
    await db.deleteFrom("audit_log").where("seq", ">=", from).execute();
    await db.deleteFrom("audit_decisions").where("decision_seq", ">=", from).execute();
    await db.deleteFrom("audit_outcome_seqs").where("seq", ">=", from).execute();
    await db.deleteFrom("audit_checkpoints").where("size", ">", from).execute();
  });
}

/**
 * Rewinds each tenant's tenant_seq head (record format v2) to its last record left in the log,
 * as a thorough operator would after {@link cutTail}: with the heads left as they were, the
 * server's next records would continue the cut numbers and an export would show the gap
 * (`tenant_seq N of tenant T is missing`, test/e2e/audit-tenant-cut.test.ts).
 */
export async function rewindTenantHeads(db: DatabaseHandle["db"]): Promise<void> {
  const heads = new Map<string, number>();
  for (const row of await db.selectFrom("audit_log").select("envelope").execute()) {
    const r = decodeRecord(envelopePayload(JSON.parse(row.envelope)));
    const tenant = recordTenant(r);
    if (tenant !== undefined && r.tenant_seq !== undefined)
      heads.set(tenant, Math.max(heads.get(tenant) ?? 0, r.tenant_seq));
  }
  await db.deleteFrom("audit_tenant_heads").execute();
  for (const [tenant, head] of heads)
    await db.insertInto("audit_tenant_heads").values({ tenant, head }).execute();
}
