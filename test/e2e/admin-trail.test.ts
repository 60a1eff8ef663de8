/**
 * The admin trail (docs/audit.md §1.2) over a real server with API keys: key create and revoke
 * by a tenant admin and the router's own acts at start (signing key, catalog, policy bundle)
 * are admin records in the signed log, each before its change; a tenant's auditor exports its
 * tenant's admin records (and verifies them offline), an all-tenants auditor the platform's too.
 */
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { AdminRecord } from "../../src/audit/record.js";
import { createApiKey, parseApiKey } from "../../src/auth/api-keys.js";
import { exportCommand, verifyCommand } from "../../src/cli/audit-commands.js";
import { KeyService, Role } from "../../src/gen/sovereign/v1/keys_pb.js";
import { appDatabases, startTestApp, type TestApp } from "../support/app.js";

describe.each(appDatabases)("admin trail (%s)", (database) => {
  let t: TestApp;
  const dirs: string[] = [];
  const tokens: Record<string, string> = {};

  const keyClient = (token: string) =>
    createClient(
      KeyService,
      createConnectTransport({
        baseUrl: t.app.httpUrl,
        httpVersion: "1.1",
        interceptors: [
          (next) => (req) => {
            req.header.set("authorization", `Bearer ${token}`);
            return next(req);
          },
        ],
      }),
    );

  async function adminRecords(
    key: string,
    tenant?: string,
  ): Promise<{ dir: string; records: AdminRecord[] }> {
    const dir = await mkdtemp(join(tmpdir(), "sovr-admin-trail-"));
    dirs.push(dir);
    const r = await exportCommand({ url: t.app.httpUrl, key, out: dir, progress: () => {}, tenant });
    expect(r.exitCode).toBe(0);
    const records = (await readFile(join(dir, "records.jsonl"), "utf8"))
      .split("\n")
      .filter(Boolean)
      .map((l) => JSON.parse(Buffer.from(JSON.parse(l).envelope.payload, "base64").toString("utf8")))
      .filter((rec) => rec.kind === "admin") as AdminRecord[];
    return { dir, records };
  }

  beforeAll(async () => {
    t = await startTestApp({ database, auth: true, env: { SOVR_CHECKPOINT_INTERVAL_MS: "60000" } });
    const make = async (name: string, tenant: string, roles: ("admin" | "auditor")[], allTenants = false) => {
      tokens[name] = (await createApiKey(t.app.db.db, { tenant, roles, allTenants })).token;
    };
    await make("taAdmin", "ta", ["admin"]);
    await make("taAuditor", "ta", ["auditor"]);
    await make("tbAuditor", "tb", ["auditor"]);
    await make("allAuditor", "ops", ["auditor"], true);
    await t.app.auth.refresh();
  });
  afterAll(async () => {
    for (const d of dirs) await rm(d, { recursive: true, force: true });
    await t?.close();
  });

  it("records a tenant admin's key create and revoke in its tenant, visible to its auditors only", async () => {
    const admin = keyClient(tokens.taAdmin!);
    const created = await admin.createKey({ tenant: "ta", roles: [Role.CLIENT], description: "bot" });
    const keyId = created.key!.keyId;
    await admin.revokeKey({ keyId });
    await admin.revokeKey({ keyId }); // already revoked: nothing changes, nothing recorded

    const adminKeyId = tokens.taAdmin!.split("_")[1]!;
    const { dir, records } = await adminRecords(tokens.taAuditor!);
    expect(records.map((r) => [r.action, r.target, r.tenant])).toEqual([
      ["key.create", { key_id: keyId }, "ta"],
      ["key.revoke", { key_id: keyId }, "ta"],
    ]);
    expect(records[0]!.caller).toEqual({ kind: "api_key", subject: "", key_id: adminKeyId });
    expect(records[0]!.principal).toMatchObject({ tenant: "ta", roles: ["admin"] });
    expect(records.map((r) => r.tenant_seq)).toEqual([1, 2]);
    // Never a secret: the token handed out is in no record (its secret is base64url, which may
    // itself contain "_": split as the server does).
    expect(await readFile(join(dir, "records.jsonl"), "utf8")).not.toContain(
      parseApiKey(created.secret)!.secret,
    );
    const v = await verifyCommand(dir, { trustExportKeys: true });
    expect(v.exitCode).toBe(0);

    expect((await adminRecords(tokens.tbAuditor!)).records).toEqual([]);
  });

  it("records the router's own acts at start in the platform tenant, for all-tenants auditors", async () => {
    const { dir, records } = await adminRecords(tokens.allAuditor!);
    const platform = records.filter((r) => r.tenant === "_platform");
    expect(platform.map((r) => r.action)).toEqual(["signing_key.rotate", "catalog.apply", "policy.activate"]);
    for (const r of platform) expect(r.caller.kind).toBe("system");
    const catalog = platform[1]!;
    expect(catalog.revision).toEqual({ before: null, after: t.app.catalog.current().revision });
    expect(records.some((r) => r.tenant === "ta" && r.action === "key.create")).toBe(true);
    expect((await verifyCommand(dir, { trustExportKeys: true })).exitCode).toBe(0);
    // A tenant's auditor sees none of them.
    expect((await adminRecords(tokens.taAuditor!)).records.some((r) => r.tenant === "_platform")).toBe(false);
  });
});
