/**
 * A signing-key rotation is recorded before the new key signs any decision (docs/audit.md
 * §1.2), and never skipped: when its record cannot be committed the start fails, and the next
 * start — the key already published by then — records it.
 */
import { sql } from "kysely";
import { afterEach, describe, expect, it } from "vitest";
import { queryAdminRecords } from "../../src/audit/admin-query.js";
import { rotateSigningKey } from "../../src/audit/signing-keys.js";
import { appDatabases } from "../support/app.js";
import { openSite, type Site } from "../support/restartable-site.js";

describe.each(appDatabases)("signing-key rotation in the admin trail (%s)", (database) => {
  let site: Site | undefined;
  afterEach(async () => {
    await site?.close();
    site = undefined;
  });

  it("a start that cannot record the rotation fails; the next start records it", async () => {
    site = await openSite(database);
    const first = await site.boot();
    const oldKey = first.audit.keyId;
    await first.stop();

    const key = await rotateSigningKey(site.keysDir); // `sovr keys generate`
    await site.withDatabase(async (db) => {
      await sql`create function sovr_test_refuse() returns trigger language plpgsql as $$
        begin raise exception 'audit log refuses (test)'; end $$`.execute(db);
      await sql`create trigger sovr_test_refuse before insert on audit_log
        for each statement execute function sovr_test_refuse()`.execute(db);
    });
    const refused = await site.boot().then(
      async (a) => {
        await a.stop();
        return undefined;
      },
      (err: unknown) => err as Error,
    );
    expect(refused?.message).toBe("admin record (signing_key.rotate) could not be written; change refused");
    await site.withDatabase(async (db) => {
      await sql`drop trigger sovr_test_refuse on audit_log`.execute(db);
      await sql`drop function sovr_test_refuse()`.execute(db);
      // The failed start published the key before it tried to record it.
      expect((await db.selectFrom("signing_keys").select("key_id").execute()).map((k) => k.key_id)).toContain(
        key.keyId,
      );
    });

    const second = await site.boot();
    expect(second.audit.keyId).toBe(key.keyId);
    await second.stop();
    const rotations = await site.withDatabase(async (db) =>
      (await queryAdminRecords(db, { action: "signing_key.rotate" }, 10)).entries.map((e) => e.record),
    );
    expect(rotations.map((r) => [r.target.signing_key_id, r.revision, r.caller.kind])).toEqual([
      [key.keyId, { before: oldKey, after: key.keyId }, "system"],
      [oldKey, { before: null, after: oldKey }, "system"],
    ]);
  }, 90_000);
});
