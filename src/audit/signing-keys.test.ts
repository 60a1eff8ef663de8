import { sql } from "kysely";
import { afterAll, describe, expect, it } from "vitest";
import { createFreshDatabase, dropDatabase } from "../../test/support/databases.js";
import { openDatabase } from "../db/index.js";
import { generateSigningKey } from "./keys.js";
import { publishSigningKey } from "./signing-keys.js";

describe.skipIf(!process.env.DATABASE_URL)("publishSigningKey on Postgres", () => {
  const cleanup: (() => Promise<unknown>)[] = [];
  afterAll(async () => {
    for (const c of cleanup.reverse()) await c();
  });

  it("succeeds when another replica inserts the same key first (two replicas starting together)", async () => {
    const base = process.env.DATABASE_URL!;
    const url = await createFreshDatabase(base);
    cleanup.push(() => dropDatabase(base, url));
    const h = await openDatabase({ databaseUrl: url, poolSize: 4 });
    cleanup.push(() => h.close());
    const key = generateSigningKey();

    // The other replica's insert, not yet committed: ours waits on the key's unique index
    // and, once the other commits, finds the row there.
    const other = await h.db.startTransaction().execute();
    await other
      .insertInto("signing_keys")
      .values({
        key_id: key.keyId,
        algorithm: "ed25519",
        public_key: key.publicKeyRaw,
        valid_from: new Date(),
        valid_until: null,
      })
      .execute();
    const ours = publishSigningKey(h.db, key);
    // Our insert reaches the index and waits for the other transaction's lock.
    for (;;) {
      const { rows } = await sql<{
        n: number;
      }>`select count(*)::int as n from pg_locks where not granted`.execute(h.db);
      if (rows[0]!.n > 0) break;
      await new Promise((r) => setImmediate(r));
    }
    await other.commit().execute();
    await expect(ours).resolves.toBeUndefined();
    const rows = await h.db.selectFrom("signing_keys").select(["key_id", "valid_until"]).execute();
    expect(rows).toEqual([{ key_id: key.keyId, valid_until: null }]);
  });
});
