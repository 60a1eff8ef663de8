/**
 * No record, no change (docs/audit.md §1.2): while the signed log refuses every append (a
 * trigger raising on insert into audit_log, as a full disk or a broken database would), admin
 * changes over gRPC — key create, key revoke, BYOK set — answer UNAVAILABLE and change nothing;
 * once the log takes records again, they go through.
 */
import * as grpc from "@grpc/grpc-js";
import { sql } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createApiKey } from "../../src/auth/api-keys.js";
import { MasterKey } from "../../src/auth/byok.js";
import { ByokService } from "../../src/gen/sovereign/v1/byok_pb.js";
import { KeyService, Role } from "../../src/gen/sovereign/v1/keys_pb.js";
import { appDatabases, startTestApp, type TestApp } from "../support/app.js";
import { GrpcJsClient } from "../support/grpc.js";

describe.each(appDatabases)(
  "admin changes fail closed when their record cannot be written (%s)",
  (database) => {
    let t: TestApp;
    let client: GrpcJsClient;
    let spare = "";
    const db = () => t.app.db.db;

    beforeAll(async () => {
      t = await startTestApp({ database, auth: true, env: { SOVR_MASTER_KEY: MasterKey.generate() } });
      const admin = await createApiKey(db(), { tenant: "ta", roles: ["admin"] });
      spare = (await createApiKey(db(), { tenant: "ta", roles: ["client"] })).key.keyId;
      await t.app.auth.refresh();
      client = new GrpcJsClient(`127.0.0.1:${t.app.servers.grpcPort}`, { key: admin.token });
    });
    afterAll(async () => {
      client?.close();
      await t?.close();
    });

    const state = async () => ({
      keys: (
        await db().selectFrom("api_keys").select(["key_id", "revoked_at"]).orderBy("key_id").execute()
      ).map((k) => `${k.key_id}:${k.revoked_at === null ? "active" : "revoked"}`),
      byok: JSON.stringify(await t.app.byok.list()),
      log: (await db().selectFrom("audit_log").select("seq").execute()).length,
    });
    const status = (p: Promise<unknown>) =>
      p.then(
        () => ({ code: grpc.status.OK, details: "" }),
        (e: grpc.ServiceError) => ({ code: e.code, details: e.details }),
      );
    const changes = () => ({
      create: status(
        client.unary(KeyService, KeyService.method.createKey, { tenant: "ta", roles: [Role.CLIENT] }),
      ),
      revoke: status(client.unary(KeyService, KeyService.method.revokeKey, { keyId: spare })),
      byok: status(
        client.unary(ByokService, ByokService.method.setKey, {
          tenant: "ta",
          provider: "sim-eu",
          key: "BYOK-FC-1",
        }),
      ),
    });

    it("refuses key create, key revoke and BYOK set with UNAVAILABLE, changing nothing; accepts them again after", async () => {
      await t.app.audit.drain();
      const before = await state();
      await sql`create function sovr_test_refuse() returns trigger language plpgsql as $$
      begin raise exception 'audit log refuses (test)'; end $$`.execute(db());
      await sql`create trigger sovr_test_refuse before insert on audit_log
      for each statement execute function sovr_test_refuse()`.execute(db());
      try {
        for (const [action, p] of Object.entries(changes())) {
          const r = await p;
          expect(r.code, action).toBe(grpc.status.UNAVAILABLE);
          expect(r.details, action).toMatch(
            /^admin record \((key\.create|key\.revoke|byok\.set)\) could not be written; change refused$/,
          );
        }
        expect(await state()).toEqual(before);
      } finally {
        await sql`drop trigger sovr_test_refuse on audit_log`.execute(db());
        await sql`drop function sovr_test_refuse()`.execute(db());
      }
      // The log takes records again: the same changes go through, each recorded.
      for (const [action, p] of Object.entries(changes()))
        expect((await p).code, action).toBe(grpc.status.OK);
      const after = await state();
      expect(after.log - before.log).toBe(3);
      expect(after.keys).toContain(`${spare}:revoked`);
      expect(after.byok).toContain("sim-eu");
    });
  },
);
