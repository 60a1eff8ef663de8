import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { Kysely } from "kysely";
import type { Database } from "../db/index.js";
import { generateSigningKey, loadSigningKeys, type SigningKey, saveSigningKey } from "./keys.js";

const CURRENT_FILE = "current";

/**
 * The key that signs new records: `<keysDir>/current` names it; older keys stay in the
 * directory (and in `signing_keys`) so what they signed keeps verifying.
 */
export async function currentSigningKey(keysDir: string): Promise<SigningKey | undefined> {
  const keys = await loadSigningKeys(keysDir);
  if (keys.length === 0) return undefined;
  let id: string | undefined;
  try {
    id = (await readFile(join(keysDir, CURRENT_FILE), "utf8")).trim();
  } catch {
    id = undefined;
  }
  const key = id ? keys.find((k) => k.keyId === id) : keys.length === 1 ? keys[0] : undefined;
  if (!key)
    throw new Error(`${keysDir}: cannot tell which signing key is current (write its id to ${CURRENT_FILE})`);
  return key;
}

/** Creates a new key in `keysDir` and makes it current (first start, or rotation). */
export async function rotateSigningKey(keysDir: string): Promise<SigningKey> {
  const key = generateSigningKey();
  await saveSigningKey(keysDir, key);
  await writeFile(join(keysDir, CURRENT_FILE), `${key.keyId}\n`, { mode: 0o600 });
  return key;
}

/**
 * Publishes `key` as the current signing key: inserts its public half if new, and closes the
 * validity range of any other key still open. Idempotent, also when replicas publish the same key
 * at the same moment.
 */
export async function publishSigningKey(
  db: Kysely<Database>,
  key: SigningKey,
  now = new Date(),
): Promise<void> {
  await db.transaction().execute(async (trx) => {
    // ON CONFLICT, not select-then-insert: replicas sharing one key start together, and the
    // second insert of the same key must be a no-op, not a failed start-up.
    await trx
      .insertInto("signing_keys")
      .values({
        key_id: key.keyId,
        algorithm: "ed25519",
        public_key: key.publicKeyRaw,
        valid_from: now,
        valid_until: null,
      })
      .onConflict((oc) => oc.column("key_id").doNothing())
      .execute();
    await trx
      .updateTable("signing_keys")
      .set({ valid_until: now })
      .where("key_id", "!=", key.keyId)
      .where("valid_until", "is", null)
      .execute();
  });
}
