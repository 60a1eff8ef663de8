/**
 * `sovr keys create|revoke|list` without `SOVR_KEY`: straight on the database — the first-key
 * bootstrap, and the one way besides another operator to create an operator key: for when the
 * server is stopped (PGlite admits one process at a time). Whoever can open the database holds
 * the platform already, so this mode is not limited by role. A change made this way is an admin
 * record like any other (`caller.kind: "local"`, docs/audit.md §1.2), signed with the keys
 * directory's current record-signing key; when it cannot be recorded, nothing is changed
 * ({@link withLocalTrail}). Loaded only by those commands (keys-commands.ts).
 */
import { withLocalTrail } from "../app/index.js";
import { LOCAL_ACTOR } from "../audit/index.js";
import { createApiKey, listApiKeys, revokeApiKey } from "../auth/index.js";
import { loadConfig } from "../config/index.js";
import { openDatabase } from "../db/index.js";
import { fromInfo, type KeyRow } from "./keys-commands.js";

/** What `createApiKey` takes besides the database and the tenant. */
type NewKey = Omit<Parameters<typeof createApiKey>[1], "tenant">;

/** Creates the key and its admin record; returns the token (shown once) and the key. */
export async function createKeyLocally(tenant: string, key: NewKey): Promise<{ token: string; row: KeyRow }> {
  const made = await withLocalTrail(loadConfig(), async (db, trail) => {
    const made = await createApiKey(db, { tenant, ...key });
    // As KeyService: the row makes the id; without its record the row goes again, and the
    // token was never shown.
    try {
      await trail.record(LOCAL_ACTOR, {
        tenant: made.key.tenant,
        action: "key.create",
        target: { key_id: made.key.keyId },
      });
    } catch (err) {
      await db.deleteFrom("api_keys").where("key_id", "=", made.key.keyId).execute();
      throw err;
    }
    return made;
  });
  return { token: made.token, row: fromInfo(made.key) };
}

export function revokeKeyLocally(keyId: string): Promise<KeyRow> {
  return withLocalTrail(loadConfig(), async (db, trail) => {
    const current = (await listApiKeys(db)).find((k) => k.keyId === keyId);
    if (!current) throw new Error(`key_id: no key ${keyId}`);
    // Recorded before it takes effect; a key already revoked changes nothing, records nothing.
    if (!current.revokedAt)
      await trail.record(LOCAL_ACTOR, {
        tenant: current.tenant,
        action: "key.revoke",
        target: { key_id: keyId },
      });
    return fromInfo((await revokeApiKey(db, keyId))!);
  });
}

export async function listKeysLocally(tenant: string | undefined): Promise<KeyRow[]> {
  const config = loadConfig();
  const h = await openDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir });
  try {
    return (await listApiKeys(h.db, tenant)).map(fromInfo);
  } finally {
    await h.close();
  }
}
