import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { type App, startApp } from "../../src/app/index.js";
import { loadConfig } from "../../src/config/config.js";
import type { ContentDetector } from "../../src/routing/index.js";
import { type Simulator, startSimulator } from "../../src/simulator/simulator.js";
import { createLogger } from "../../src/telemetry/logger.js";
import { createFreshDatabase, dropDatabase } from "./databases.js";
import { seedEmbeddedDatabase } from "./pglite-template.js";

export const REPO = resolve(import.meta.dirname, "../..");

export interface TestApp {
  app: App;
  simulator: Simulator;
  dataDir: string;
  /** Every log line the server wrote (JSON text), for assertions such as the privacy test. */
  logs: string[];
  /** The first-start development key when `auth: true`. */
  devKey: string | undefined;
  close(): Promise<void>;
}

export interface TestAppOptions {
  database?: "pglite" | "postgres";
  /** Extra env (SOVR_* settings); the catalog defaults to the shipped simulator catalog. */
  env?: Record<string, string>;
  catalogDir?: string;
  bundlePath?: string;
  /**
   * Run with API-key auth (the product default). Off by default here so tests about other
   * concerns need no keys; the auth tests (test/auth-*.test.ts) turn it on. With auth on,
   * `devKey` holds the first-start development key (every role, tenant "default").
   */
  auth?: boolean;
  /** The content detector (StartOptions.detector): null for none, undefined for the default. */
  detector?: ContentDetector | null;
}

/**
 * A real `sovr serve` on ephemeral ports with its own simulator and a fresh database
 * (PGlite in a temp dir, started from a copy of the migrated template (./pglite-template.ts),
 * or a new Postgres database when `database: "postgres"`).
 */
export async function startTestApp(opts: TestAppOptions = {}): Promise<TestApp> {
  const simulator = await startSimulator();
  const dataDir = await mkdtemp(join(tmpdir(), "sovr-test-"));
  let dbUrl: string | undefined;
  if (opts.database === "postgres") {
    if (!process.env.DATABASE_URL) throw new Error("DATABASE_URL is not set");
    dbUrl = await createFreshDatabase(process.env.DATABASE_URL);
  } else if (!opts.env?.SOVR_DATA_DIR && !opts.env?.DATABASE_URL) {
    // Not when the test names its own data directory or database: this one would go unused.
    await seedEmbeddedDatabase(dataDir);
  }
  const env: Record<string, string | undefined> = {
    SOVR_GRPC_PORT: "0",
    SOVR_HTTP_PORT: "0",
    SOVR_SIMULATOR: "off",
    SOVR_DATA_DIR: dataDir,
    SOVR_CATALOG_DIR: opts.catalogDir ?? join(REPO, "test/fixtures/catalog"),
    SOVR_POLICY_BUNDLE: opts.bundlePath ?? join(REPO, "policies/dist/bundle.tar.gz"),
    SOVR_LOG_LEVEL: "debug",
    SOVR_DRAIN_MS: "2000",
    // Local runtimes are not probed unless a test asks (test/e2e/local-runtimes.test.ts): the
    // routing tests count on a dead 127.0.0.1 upstream being attempted (failover, faults).
    SOVR_LOCAL_PROBE_MS: "0",
    DATABASE_URL: dbUrl,
    SOVR_AUTH: opts.auth ? "on" : "off",
    ...opts.env,
  };
  const config = loadConfig(env);
  const logs: string[] = [];
  const sink = new (await import("node:stream")).Writable({
    write(chunk, _enc, cb) {
      logs.push(String(chunk));
      cb();
    },
  });
  let devKey: string | undefined;
  const app = await startApp(config, {
    logger: createLogger("debug", sink),
    announceDevKey: (token) => {
      devKey = token;
    },
    env: { ...process.env, ...env, SOVR_SIMULATOR_URL: simulator.url },
    ...(opts.detector !== undefined ? { detector: opts.detector } : {}),
  });
  return {
    app,
    simulator,
    dataDir,
    logs,
    devKey,
    async close() {
      await app.stop();
      await simulator.close();
      // A stop() that gave up on a wedged database (its steps are bounded by the drain time)
      // leaves the embedded database's thread finishing its queued statements and closing,
      // writing into the directory meanwhile: retry the removal (ENOTEMPTY) while it does.
      await rm(dataDir, { recursive: true, force: true, maxRetries: 10, retryDelay: 100 });
      if (dbUrl && process.env.DATABASE_URL) await dropDatabase(process.env.DATABASE_URL, dbUrl);
    },
  };
}

/** The databases an end-to-end test should run on: PGlite always, Postgres when configured. */
export const appDatabases: ("pglite" | "postgres")[] = process.env.DATABASE_URL
  ? ["pglite", "postgres"]
  : ["pglite"];
