/**
 * `sovr keys byok …` without `SOVR_KEY`: straight on the database, encrypting with the local
 * `SOVR_MASTER_KEY`, with the server stopped (byok-commands.ts; loaded only by those commands).
 */
import { byokGate, withLocalTrail } from "../app/index.js";
import { ByokAdmin, type ByokKeyJson, ByokStore, byokKeyJson, MasterKey } from "../auth/index.js";
import { buildSnapshot, loadCatalogDir } from "../catalog/index.js";
import { loadConfig } from "../config/index.js";
import { openDatabase } from "../db/index.js";

export async function setKey(
  tenant: string,
  provider: string,
  key: string,
  always: boolean,
): Promise<ByokKeyJson> {
  return withAdmin(async (a) => byokKeyJson(await a.set(undefined, tenant, provider, key, always)), true);
}

export async function approveOrigins(
  tenant: string,
  provider: string,
  origins: string[],
): Promise<ByokKeyJson> {
  return withAdmin(async (a) => byokKeyJson(await a.approve(undefined, tenant, provider, origins)), true);
}

export function removeKey(tenant: string, provider: string): Promise<boolean> {
  return withAdmin((a) => a.remove(undefined, tenant, provider), true);
}

export function listKeys(tenant: string | undefined): Promise<ByokKeyJson[]> {
  return withAdmin(async (a) => (await a.list(undefined, tenant)).map(byokKeyJson));
}

async function withStore<T>(fn: (s: ByokStore) => Promise<T>): Promise<T> {
  const config = loadConfig();
  const h = await openDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir });
  try {
    return await fn(new ByokStore(h.db, MasterKey.fromConfig(config.byok)));
  } finally {
    await h.close();
  }
}

/**
 * The admin rules over the database, with the catalog the server would load from its catalog
 * directory (with the simulator's address as `sovr serve` sets it), for the providers' origins.
 * A change (`record`) is an admin record by the local operator in the signed log, committed
 * before the change is made; when it cannot be, nothing changes ({@link withLocalTrail}).
 */
async function withAdmin<T>(fn: (a: ByokAdmin) => Promise<T>, record = false): Promise<T> {
  const config = loadConfig();
  const env = {
    ...(config.simulator.enabled ? { SOVR_SIMULATOR_URL: `http://127.0.0.1:${config.simulator.port}` } : {}),
    ...process.env,
  };
  const snapshot = buildSnapshot(await loadCatalogDir(config.catalogDir, { env, vars: config.catalogEnv }), {
    env,
  });
  const catalog = { current: () => snapshot };
  if (!record) return withStore((s) => fn(new ByokAdmin(s, catalog)));
  const master = MasterKey.fromConfig(config.byok);
  return withLocalTrail(config, (db, trail) =>
    fn(new ByokAdmin(new ByokStore(db, master), catalog, byokGate(trail))),
  );
}
