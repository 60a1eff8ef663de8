/**
 * "Who changed the rules before this decision" (docs/audit.md §1.2): QueryAdminRecords and
 * `sovr audit changes DECISION_ID` over a real server with API keys. A tenant's auditor sees its
 * tenant's changes committed before the decision, newest first; an all-tenants auditor the
 * platform's (catalog, bundle, signing key) too; another tenant's auditor gets NotFound exactly
 * as for an unknown id.
 */
import { Code, ConnectError } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createApiKey } from "../../src/auth/api-keys.js";
import { changesCommand } from "../../src/cli/audit-changes.js";
import { auditClient } from "../../src/cli/audit-commands.js";
import { serverClient } from "../../src/cli/connect-client.js";
import { RecordKind } from "../../src/gen/sovereign/v1/audit_pb.js";
import { KeyService, Role } from "../../src/gen/sovereign/v1/keys_pb.js";
import { appDatabases, startTestApp, type TestApp } from "../support/app.js";
import { chat } from "../support/audit-live.js";
import { GrpcJsClient } from "../support/grpc.js";

const UNKNOWN_DECISION = "01a20137-0000-7000-8000-000000000000";

describe.each(appDatabases)("admin changes before a decision (%s)", (database) => {
  let t: TestApp;
  const tokens: Record<string, string> = {};
  let decision = "";
  const made: string[] = [];
  let revokedAfter = "";

  beforeAll(async () => {
    t = await startTestApp({ database, auth: true, env: { SOVR_CHECKPOINT_INTERVAL_MS: "60000" } });
    const make = async (
      name: string,
      tenant: string,
      roles: ("admin" | "auditor" | "client")[],
      all = false,
    ) => {
      tokens[name] = (await createApiKey(t.app.db.db, { tenant, roles, allTenants: all })).token;
    };
    await make("taAdmin", "ta", ["admin"]);
    await make("taClient", "ta", ["client"]);
    await make("taAuditor", "ta", ["auditor"]);
    await make("tbAuditor", "tb", ["auditor"]);
    await make("allAuditor", "ops", ["auditor"], true);
    await t.app.auth.refresh();
    const keys = serverClient(KeyService, { url: t.app.httpUrl, key: tokens.taAdmin });
    // Two changes before the decision, one after it.
    for (const description of ["first", "second"])
      made.push((await keys.createKey({ tenant: "ta", roles: [Role.CLIENT], description })).key!.keyId);
    const grpc = new GrpcJsClient(`127.0.0.1:${t.app.servers.grpcPort}`, { key: tokens.taClient });
    try {
      decision = await chat(grpc, "who changed the rules");
    } finally {
      grpc.close();
    }
    await t.app.audit.drain();
    revokedAfter = made[0]!;
    await keys.revokeKey({ keyId: revokedAfter });
  });
  afterAll(async () => {
    await t?.close();
  });

  const changes = async (who: string, id = decision) => {
    const r = await changesCommand(id, { url: t.app.httpUrl, key: tokens[who], json: true });
    expect(r.exitCode).toBe(0);
    return r.stdout.map(
      (l) => JSON.parse(l) as { action: string; tenant: string; target: { key_id?: string } },
    );
  };

  it("a tenant auditor: its tenant's changes before the decision, newest first, none after", async () => {
    const rows = await changes("taAuditor");
    expect(rows.map((r) => [r.tenant, r.action, r.target.key_id])).toEqual([
      ["ta", "key.create", made[1]],
      ["ta", "key.create", made[0]],
    ]);
    const table = await changesCommand(decision, { url: t.app.httpUrl, key: tokens.taAuditor });
    expect(table.stdout[0]).toBe(`changes before decision ${decision}, newest first:`);
    expect(table.stdout.at(-1)).toBe("2 changes");
  });

  it("an all-tenants auditor: the platform's changes too (the router's start), in log order newest first", async () => {
    const rows = await changes("allAuditor");
    expect(rows.map((r) => `${r.tenant} ${r.action}`)).toEqual([
      "ta key.create",
      "ta key.create",
      "_platform policy.activate",
      "_platform catalog.apply",
      "_platform signing_key.rotate",
    ]);
  });

  it("another tenant's auditor: NotFound, exactly as an unknown decision id", async () => {
    const fail = (id: string) =>
      changesCommand(id, { url: t.app.httpUrl, key: tokens.tbAuditor }).then(
        () => undefined,
        (e: unknown) => ConnectError.from(e),
      );
    const other = await fail(decision);
    const unknown = await fail(UNKNOWN_DECISION);
    expect(other?.code).toBe(Code.NotFound);
    expect(other!.rawMessage.replace(decision, "ID")).toBe(
      unknown!.rawMessage.replace(UNKNOWN_DECISION, "ID"),
    );
  });

  it("QueryAdminRecords: filters by action, pages newest first, entries verifiable as logged; bad filters name the field", async () => {
    const client = auditClient({ url: t.app.httpUrl, key: tokens.taAuditor });
    const revokes = await client.queryAdminRecords({ action: "key.revoke" });
    expect(revokes.records.map((r) => r.target.key_id)).toEqual([revokedAfter]);
    const r = revokes.records[0]!;
    expect(r.entry?.kind).toBe(RecordKind.ADMIN);
    expect(r.entry?.decisionId).toBe(r.eventId);
    expect(JSON.parse(Buffer.from(r.entry!.envelope!.payload).toString("utf8"))).toMatchObject({
      kind: "admin",
      action: "key.revoke",
      tenant_seq: Number(r.tenantSeq),
    });
    expect(r).toMatchObject({ callerKind: "api_key", principalTenant: "ta", principalRoles: ["admin"] });

    const seqs: bigint[] = [];
    let pageToken = "";
    do {
      const page = await client.queryAdminRecords({ pageSize: 1, pageToken });
      seqs.push(...page.records.map((x) => x.seq));
      pageToken = page.nextPageToken;
    } while (pageToken);
    expect(seqs).toHaveLength(3);
    expect([...seqs].sort((a, b) => Number(b - a))).toEqual(seqs);

    for (const [req, field] of [
      [{ action: "key.steal" }, "action"],
      [{ pageToken: "bm9wZQ" }, "page_token"],
      [{ tenant: "ta", beforeDecisionId: decision }, "tenant"],
    ] as const) {
      const err = await client.queryAdminRecords(req).then(
        () => undefined,
        (e: unknown) => ConnectError.from(e),
      );
      expect(err?.code, field).toBe(Code.InvalidArgument);
      expect(err?.rawMessage, field).toMatch(new RegExp(`^${field}: `));
    }
  });
});
