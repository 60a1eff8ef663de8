import type { DescMethod, DescService } from "@bufbuild/protobuf";
import * as grpc from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ACCESS } from "../src/auth/access.js";
import { createApiKey, revokeApiKey } from "../src/auth/api-keys.js";
import { AuditService } from "../src/gen/sovereign/v1/audit_pb.js";
import { CatalogService } from "../src/gen/sovereign/v1/catalog_pb.js";
import { KeyService, Role } from "../src/gen/sovereign/v1/keys_pb.js";
import { RouterService } from "../src/gen/sovereign/v1/router_pb.js";
import { startTestApp, type TestApp } from "./support/app.js";
import { GrpcJsClient } from "./support/grpc.js";

const SERVICES: DescService[] = [RouterService, CatalogService, AuditService, KeyService];

/** A request each RPC accepts from an authorised caller. */
function requestFor(method: DescMethod, catalogRevision: string): object {
  switch (`${method.parent.name}/${method.name}`) {
    case "RouterService/Chat":
    case "RouterService/ChatStream":
      return { model: "sim/chat-small", region: "eu", messages: [{ role: "user", content: "hi" }] };
    case "RouterService/Explain":
      return { request: { model: "sim/chat-small" } };
    case "CatalogService/GetEndpoint":
      return { id: "sim-eu/chat-small" };
    case "CatalogService/GetRevision":
      return { revision: catalogRevision };
    case "CatalogService/ApplyCatalog":
      return { files: [{ name: "x.yaml", content: "not: [valid" }], validateOnly: true };
    case "AuditService/GetDecision":
    case "AuditService/ReplayDecision":
      return { decisionId: "01a20137-0000-7000-8000-000000000000" };
    case "AuditService/GetConsistencyProof":
      return { firstSize: 1n, secondSize: 1n };
    case "KeyService/CreateKey":
      return { tenant: "matrix", roles: [Role.CLIENT] };
    case "KeyService/RevokeKey":
      return { keyId: "000000000000" };
    default:
      return {};
  }
}

/** Calls any RPC; resolves with the gRPC status code (OK for a success or a first stream message). */
function call(
  client: GrpcJsClient,
  method: DescMethod,
  req: object,
  md: grpc.Metadata,
): Promise<grpc.status> {
  if (method.methodKind === "unary") {
    return client.unary(method.parent, method as never, req as never, md).then(
      () => grpc.status.OK,
      (e: grpc.ServiceError) => e.code,
    );
  }
  return new Promise((resolve) => {
    const stream = client.serverStream(method.parent, method as never, req as never, md);
    stream.on("data", () => {
      resolve(grpc.status.OK);
      stream.cancel();
    });
    stream.on("error", (e: grpc.ServiceError) =>
      resolve(e.code === grpc.status.CANCELLED ? grpc.status.OK : e.code),
    );
    stream.on("end", () => resolve(grpc.status.OK));
  });
}

describe("authentication and authorisation matrix", () => {
  let t: TestApp;
  let client: GrpcJsClient;
  const keys: Record<string, string> = {};
  let revoked: string;

  beforeAll(async () => {
    t = await startTestApp({ auth: true });
    client = new GrpcJsClient(`127.0.0.1:${t.app.servers.grpcPort}`);
    for (const role of ["client", "auditor", "admin"] as const) {
      keys[role] = (await createApiKey(t.app.db.db, { tenant: "acme", roles: [role] })).token;
    }
    const r = await createApiKey(t.app.db.db, { tenant: "acme", roles: ["client", "auditor", "admin"] });
    await revokeApiKey(t.app.db.db, r.key.keyId);
    revoked = r.token;
  });
  afterAll(async () => {
    client?.close();
    await t?.close();
  });

  it("has an access rule for every RPC (a new RPC without one fails here)", () => {
    for (const s of SERVICES)
      for (const m of s.methods)
        expect(ACCESS[`${s.typeName}/${m.name}`], `${s.typeName}/${m.name}`).toBeDefined();
  });

  it("prints a development key on first start, with every role", () => {
    expect(t.devKey).toMatch(/^sovr_[0-9a-f]{12}_[A-Za-z0-9_-]{43}$/);
  });

  // Outcome records are appended after the response: let them land before counting.
  const snapshot = async () => ({
    drained: await t.app.audit.drain(),
    upstream: t.simulator.stats("sim-eu").requests,
    log: Number(
      (
        await t.app.db.db
          .selectFrom("audit_log")
          .select((eb) => eb.fn.countAll().as("n"))
          .executeTakeFirstOrThrow()
      ).n,
    ),
    keys: Number(
      (
        await t.app.db.db
          .selectFrom("api_keys")
          .select((eb) => eb.fn.countAll().as("n"))
          .executeTakeFirstOrThrow()
      ).n,
    ),
    catalog: t.app.catalog.current().revision,
  });

  it("refuses every protected RPC without a key, with a revoked key, and with a role or tenant it lacks — and executes nothing", async () => {
    const revision = t.app.catalog.current().revision;
    const failures: string[] = [];
    for (const service of SERVICES) {
      for (const method of service.methods) {
        const op = `${service.typeName}/${method.name}`;
        const access = ACCESS[op] as readonly string[];
        const req = requestFor(method, revision);
        const scenarios: { name: string; md: grpc.Metadata; expect: grpc.status | "allowed" }[] = [];
        const md = (key?: string, tenant?: string) => {
          const m = new grpc.Metadata();
          if (key) m.set("authorization", `Bearer ${key}`);
          if (tenant) m.set("x-sovr-tenant", tenant);
          return m;
        };
        scenarios.push({ name: "no key", md: md(), expect: grpc.status.UNAUTHENTICATED });
        scenarios.push({ name: "malformed key", md: md("sovr_nope"), expect: grpc.status.UNAUTHENTICATED });
        scenarios.push({ name: "revoked key", md: md(revoked), expect: grpc.status.UNAUTHENTICATED });
        for (const role of ["client", "auditor", "admin"]) {
          const allowed = access.includes(role);
          if (!allowed)
            scenarios.push({
              name: `role ${role}`,
              md: md(keys[role]),
              expect: grpc.status.PERMISSION_DENIED,
            });
          // Another tenant: refused for non-admins whose role would otherwise be allowed.
          if (allowed && role !== "admin") {
            scenarios.push({
              name: `role ${role}, other tenant`,
              md: md(keys[role], "globex"),
              expect: grpc.status.PERMISSION_DENIED,
            });
          }
        }
        for (const sc of scenarios) {
          const before = await snapshot();
          const code = await call(client, method, req, sc.md);
          const after = await snapshot();
          if (code !== sc.expect)
            failures.push(
              `${op} [${sc.name}]: got ${grpc.status[code]}, want ${grpc.status[sc.expect as grpc.status]}`,
            );
          if (JSON.stringify(after) !== JSON.stringify(before))
            failures.push(`${op} [${sc.name}]: something executed ${JSON.stringify({ before, after })}`);
        }
        // And the roles it is open to get past auth (whatever the call itself answers).
        for (const role of access) {
          const code = await call(client, method, req, md(keys[role as string]));
          if (code === grpc.status.UNAUTHENTICATED || code === grpc.status.PERMISSION_DENIED) {
            failures.push(`${op} [role ${role}]: refused (${grpc.status[code]}) but the role is allowed`);
          }
        }
      }
    }
    expect(failures).toEqual([]);
  }, 120_000);

  it("routes a client's request as its own tenant", async () => {
    const md = new grpc.Metadata();
    md.set("authorization", `Bearer ${keys.client}`);
    const res = await client.unary(
      RouterService,
      RouterService.method.chat,
      requestFor(RouterService.method.chat, "") as never,
      md,
    );
    const row = await t.app.db.db
      .selectFrom("audit_decisions")
      .select(["tenant"])
      .where("decision_id", "=", res.route!.decisionId)
      .executeTakeFirstOrThrow();
    expect(row.tenant).toBe("acme");
  });

  it("keeps keys as hashes only and records last use", async () => {
    const rows = await t.app.db.db.selectFrom("api_keys").selectAll().execute();
    const dump = JSON.stringify(
      rows.map((r) => ({ ...r, secret_hash: Buffer.from(r.secret_hash).toString("base64") })),
    );
    for (const token of Object.values(keys)) {
      expect(dump).not.toContain(token.split("_")[2]);
    }
    const used = rows.find((r) => keys.client!.includes(r.key_id));
    expect(used?.last_used_at).not.toBeNull();
  });

  it("applies the same check to the HTTP API", async () => {
    const url = `${t.app.httpUrl}/v1/chat/completions`;
    const body = JSON.stringify({
      model: "sim/chat-small",
      region: "eu",
      messages: [{ role: "user", content: "hi" }],
    });
    const post = (headers: Record<string, string>) =>
      fetch(url, { method: "POST", headers: { "content-type": "application/json", ...headers }, body }).then(
        (r) => r.status,
      );
    const before = await snapshot();
    expect(await post({})).toBe(401);
    expect(await post({ authorization: `Bearer ${revoked}` })).toBe(401);
    expect(await post({ authorization: `Bearer ${keys.auditor}` })).toBe(403);
    expect(await post({ authorization: `Bearer ${keys.client}`, "x-sovr-tenant": "globex" })).toBe(403);
    expect(await snapshot()).toEqual(before);
    expect(await post({ authorization: `Bearer ${keys.client}` })).toBe(200);
    const models = await fetch(`${t.app.httpUrl}/v1/models`).then((r) => r.status);
    expect(models).toBe(401);
  });
});
