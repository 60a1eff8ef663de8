import { execFile } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import * as grpc from "@grpc/grpc-js";
import { sql } from "kysely";
import { afterAll, describe, expect, it } from "vitest";
import { queryAdminRecords } from "../../src/audit/admin-query.js";
import { parseApiKey } from "../../src/auth/api-keys.js";
import { auditClient } from "../../src/cli/audit-commands.js";
import { loadConfig } from "../../src/config/config.js";
import { openDatabase } from "../../src/db/index.js";
import { RouterService } from "../../src/gen/sovereign/v1/router_pb.js";
import { REPO, startTestApp, type TestApp } from "../support/app.js";
import { GrpcJsClient } from "../support/grpc.js";
import { seedEmbeddedDatabase } from "../support/pglite-template.js";

const run = promisify(execFile);
const sovr = (args: string[], env: Record<string, string>) =>
  run(process.execPath, [join(REPO, "bin/sovr.js"), ...args], {
    cwd: REPO,
    env: { ...process.env, DATABASE_URL: "", ...env },
  });

describe("sovr keys (CLI)", () => {
  /** The data directory's database opened by itself (the server stopped), as an operator would. */
  async function withDatabase<T>(fn: (db: Awaited<ReturnType<typeof openDatabase>>["db"]) => Promise<T>) {
    const config = loadConfig({ SOVR_DATA_DIR: dir });
    const h = await openDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir });
    try {
      return await fn(h.db);
    } finally {
      await h.close();
    }
  }
  let dir: string;
  let t: TestApp | undefined;
  afterAll(async () => {
    await t?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it("bootstraps an operator key with the server stopped, then manages keys through the running server", async () => {
    dir = await mkdtemp(join(tmpdir(), "sovr-keys-"));
    await seedEmbeddedDatabase(dir);
    const env = { SOVR_DATA_DIR: dir };
    // First key, no server: written straight into the (PGlite) database — the one way, besides
    // another operator, to make an operator key.
    const created = await sovr(
      ["keys", "create", "--tenant", "ops", "--role", "operator", "--role", "auditor", "--all-tenants"],
      env,
    );
    const operator = created.stdout.trim();
    expect(operator).toMatch(/^sovr_[0-9a-f]{12}_/);
    expect(created.stderr).toContain("(operator, auditor; all tenants)");

    // The server on that data dir: keys exist, so no development key is created.
    t = await startTestApp({ auth: true, env: { SOVR_DATA_DIR: dir } });
    expect(t.devKey).toBeUndefined();
    const url = t.app.httpUrl;
    // Made without a server, the key is still in the signed log: its admin record by the local
    // operator, after the signing key the CLI created and published for it; the server's start
    // (which verified both) follows. Newest first.
    const trail = await auditClient({ url, key: operator }).queryAdminRecords({});
    expect(trail.records.map((r) => `${r.tenant} ${r.action} ${r.callerKind}`)).toEqual([
      "_platform policy.activate system",
      "_platform catalog.apply system",
      "ops key.create local",
      "_platform signing_key.rotate local",
    ]);
    expect(trail.records[2]!.target.key_id).toBe(operator.split("_")[1]);
    const asOperator = { SOVR_URL: url, SOVR_KEY: operator };

    // The operator manages any tenant's keys through the server's KeyService.
    const client = (
      await sovr(["keys", "create", "--tenant", "acme", "--role", "client"], asOperator)
    ).stdout.trim();
    const grpcClient = new GrpcJsClient(`127.0.0.1:${t.app.servers.grpcPort}`, { key: client });
    const req = { model: "sim/chat-small", region: "eu", messages: [{ role: "user", content: "hi" }] };
    const ok = await grpcClient.unary(RouterService, RouterService.method.chat, req);
    expect(ok.route?.endpointId).toBe("sim-eu/chat-small");

    const list = (await sovr(["keys", "list"], asOperator)).stdout;
    const clientId = client.split("_")[1]!;
    expect(list).toMatch(new RegExp(`${clientId}\\s+acme\\s+client\\s+active`));
    expect(list).toMatch(/ops\s+operator,auditor\+all-tenants\s+active/);
    expect(list).not.toContain(parseApiKey(client)!.secret);

    await sovr(["keys", "revoke", clientId], asOperator);
    const refused = await grpcClient
      .unary(RouterService, RouterService.method.chat, req)
      .catch((e: grpc.ServiceError) => e);
    expect((refused as grpc.ServiceError).code).toBe(grpc.status.UNAUTHENTICATED);
    grpcClient.close();

    // A tenant admin (made by the operator) manages its own tenant only, and makes no operators.
    const admin = (
      await sovr(["keys", "create", "--tenant", "acme", "--role", "admin"], asOperator)
    ).stdout.trim();
    const asAdmin = { SOVR_URL: url, SOVR_KEY: admin };
    const failure = (args: string[]) =>
      sovr(args, asAdmin).then(
        () => "",
        (e: { stderr: string }) => e.stderr,
      );
    expect(await failure(["keys", "create", "--tenant", "acme", "--role", "operator"])).toMatch(
      /only an operator creates operator keys/,
    );
    expect(await failure(["keys", "create", "--tenant", "ops", "--role", "client"])).toMatch(
      /tenant: a tenant admin manages only its own tenant's keys/,
    );
    expect((await sovr(["keys", "list"], asAdmin)).stdout).not.toContain("ops");

    // A client key cannot manage keys.
    const denied = await sovr(["keys", "list"], { SOVR_URL: url, SOVR_KEY: client }).catch(
      (e: { stderr: string }) => e,
    );
    expect((denied as { stderr: string }).stderr).toMatch(/invalid or revoked|requires role/);

    // Expiry, label and scopes: created through the server, listed (table and --json), never the secret.
    const before = Date.now();
    const scoped = await sovr(
      [
        "keys",
        "create",
        "--tenant",
        "acme",
        "--role",
        "admin",
        "--label",
        "ci bot",
        "--expires-in",
        "30d",
        "--models",
        "sim/*,other/x",
        "--providers",
        "sim-eu",
        "--max-role",
        "client",
      ],
      asOperator,
    );
    const scopedKey = scoped.stdout.trim();
    expect(scoped.stderr).toMatch(/\(admin; expires \d{4}-\d{2}-\d{2}T/);
    const scopedId = parseApiKey(scopedKey)!.keyId;
    const rows = (await sovr(["keys", "list", "--json", "--tenant", "acme"], asOperator)).stdout
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    const row = rows.find((r) => r.key_id === scopedId)!;
    expect(row).toMatchObject({
      label: "ci bot",
      allowed_models: ["sim/*", "other/x"],
      allowed_providers: ["sim-eu"],
      max_role: "client",
      status: "active",
    });
    expect(JSON.stringify(rows)).not.toContain(scopedKey); // never the secret
    const expires = Date.parse(row.expires_at as string);
    expect(expires - before).toBeGreaterThanOrEqual(30 * 86_400_000 - 1000);
    expect(expires - before).toBeLessThan(30 * 86_400_000 + 120_000);
    expect(rows.find((r) => r.key_id === clientId)).toMatchObject({ status: "revoked", expires_at: null });
    const table = (await sovr(["keys", "list"], asOperator)).stdout;
    expect(table).toMatch(
      new RegExp(
        `${scopedId}\\s+acme\\s+admin\\s+active\\s+\\d{4}-.*ci bot\\s+models=sim/\\*,other/x providers=sim-eu max-role=client`,
      ),
    );
    expect(table).not.toContain(parseApiKey(scopedKey)!.secret);
    // Flags the CLI cannot read are refused naming the flag.
    const bad = (args: string[]) =>
      sovr(["keys", "create", "--tenant", "acme", "--role", "client", ...args], asOperator).then(
        () => "",
        (e: { stderr: string }) => e.stderr,
      );
    expect(await bad(["--expires-in", "30x"])).toMatch(/--expires-in: a number and a unit/);
    expect(await bad(["--expires-at", "2030-01-01"])).toMatch(/--expires-at: an ISO 8601 instant/);
    expect(await bad(["--expires-at", "2001-01-01T00:00:00Z"])).toMatch(/expires_at: must be in the future/);
    expect(await bad(["--max-role", "root"])).toMatch(/--max-role: root is not one of/);

    // The server stopped again: offline changes fail closed while the log refuses records, and
    // change nothing; once it takes them, the revoke goes through, recorded.
    await t.app.stop();
    const adminId = admin.split("_")[1]!;
    const local = { SOVR_DATA_DIR: dir };
    const state = () =>
      withDatabase(async (db) =>
        (await db.selectFrom("api_keys").select(["key_id", "revoked_at"]).orderBy("key_id").execute()).map(
          (k) => `${k.key_id}:${k.revoked_at === null ? "active" : "revoked"}`,
        ),
      );
    const keysBefore = await state();
    await withDatabase(async (db) => {
      await sql`create function sovr_test_refuse() returns trigger language plpgsql as $$
        begin raise exception 'audit log refuses (test)'; end $$`.execute(db);
      await sql`create trigger sovr_test_refuse before insert on audit_log
        for each statement execute function sovr_test_refuse()`.execute(db);
    });
    for (const args of [
      ["keys", "create", "--tenant", "acme", "--role", "client"],
      ["keys", "revoke", adminId],
    ]) {
      const err = (await sovr(args, local).catch((e: { stderr: string }) => e)) as { stderr: string };
      expect(err.stderr, args[1]).toMatch(
        /admin record \(key\.(create|revoke)\) could not be written; change refused/,
      );
    }
    expect(await state()).toEqual(keysBefore);
    await withDatabase(async (db) => {
      await sql`drop trigger sovr_test_refuse on audit_log`.execute(db);
      await sql`drop function sovr_test_refuse()`.execute(db);
    });
    await sovr(["keys", "revoke", adminId], local);
    expect(await state()).toContain(`${adminId}:revoked`);
    const last = await withDatabase(async (db) => (await queryAdminRecords(db, {}, 1)).entries[0]!.record);
    expect([last.action, last.caller.kind, last.target.key_id]).toEqual(["key.revoke", "local", adminId]);
  }, 180_000);
});
