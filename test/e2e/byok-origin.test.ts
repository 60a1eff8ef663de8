import { createServer, type IncomingMessage, type Server } from "node:http";
import { toJsonString } from "@bufbuild/protobuf";
import * as grpc from "@grpc/grpc-js";
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createApiKey } from "../../src/auth/api-keys.js";
import { ByokStore, MasterKey } from "../../src/auth/byok.js";
import { readCatalogFiles } from "../../src/catalog/catalog-store.js";
import { AuditService } from "../../src/gen/sovereign/v1/audit_pb.js";
import {
  ByokService,
  ByokServiceListKeysResponseSchema,
  ByokServiceSetKeyResponseSchema,
} from "../../src/gen/sovereign/v1/byok_pb.js";
import { CatalogService } from "../../src/gen/sovereign/v1/catalog_pb.js";
import { ExplainResponseSchema, RouterService } from "../../src/gen/sovereign/v1/router_pb.js";
import { appDatabases, type TestApp } from "../support/app.js";
import { GrpcJsClient } from "../support/grpc.js";
import { startRoutingApp } from "../support/routing-app.js";

const BYOK_KEY = "BYOK-SECRET-tb-7c41e0";
const MASTER = MasterKey.generate();

/**
 * The keys this file uses, made in one place. Catalogs are applied by the platform operator:
 * even the operator cannot send a tenant's key to an origin the tenant did not approve.
 */
async function makeKeys(t: TestApp) {
  const key = async (tenant: string, roles: ("client" | "auditor" | "admin" | "operator")[]) =>
    (await createApiKey(t.app.db.db, { tenant, roles })).token;
  const keys = {
    catalogChanger: await key("ta", ["operator"]),
    tbAuditor: await key("tb", ["auditor"]),
    taAdmin: await key("ta", ["admin"]),
    tbAdmin: await key("tb", ["admin"]),
    tbClient: await key("tb", ["client"]),
  };
  await t.app.auth.refresh();
  return keys;
}

/** A listener that records what reaches it and answers 503 (so the router never gets an answer). */
async function listener(): Promise<{ server: Server; origin: string; seen: IncomingMessage["headers"][] }> {
  const seen: IncomingMessage["headers"][] = [];
  const server = createServer((req, res) => {
    seen.push(req.headers);
    req.resume();
    res.writeHead(503, { "content-type": "application/json" }).end('{"error":{"message":"listener"}}');
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  const { port } = server.address() as { port: number };
  return { server, origin: `http://127.0.0.1:${port}`, seen };
}

const status = (p: Promise<unknown>) =>
  p.then(
    () => grpc.status.OK,
    (e: grpc.ServiceError) => e.code,
  );

describe.each(appDatabases)("BYOK keys bound to approved origins (issue 11, finding 2) (%s)", (database) => {
  let t: TestApp;
  let keys: Awaited<ReturnType<typeof makeKeys>>;
  let trap: Awaited<ReturnType<typeof listener>>;
  const grpcAs = (key: string) => new GrpcJsClient(`127.0.0.1:${t.app.servers.grpcPort}`, { key });
  const openaiAs = (key: string) =>
    new OpenAI({ baseURL: `${t.app.httpUrl}/v1`, apiKey: key, maxRetries: 0 });
  const ask = (only?: string[]) =>
    openaiAs(keys.tbClient)
      .chat.completions.create({
        model: "sim/chat-small",
        messages: [{ role: "user", content: "hello" }],
        ...({ provider: only ? { only } : {} } as object),
      })
      .withResponse();

  beforeAll(async () => {
    t = await startRoutingApp({ database, auth: true, env: { SOVR_MASTER_KEY: MASTER } });
    keys = await makeKeys(t);
    trap = await listener();
  }, 60_000);
  afterAll(async () => {
    await t?.close();
    trap?.server.close();
  });

  it("a catalog moving sim-eu elsewhere suspends tb's key there until tb's admin approves it", async () => {
    const simOrigin = new URL(t.simulator.url).origin; // a non-default port: already normalised
    const tbAdmin = grpcAs(keys.tbAdmin);
    // Setting the key approves the provider's current origins, and says which.
    const set = await tbAdmin.unary(ByokService, ByokService.method.setKey, {
      tenant: "tb",
      provider: "sim-eu",
      key: BYOK_KEY,
      always: false,
    });
    expect(set.key?.approvedOrigins).toEqual([simOrigin]);
    expect(toJsonString(ByokServiceSetKeyResponseSchema, set)).not.toContain(BYOK_KEY);
    const before = t.simulator.stats("sim-eu").credentials.length;
    await ask(["sim-eu"]);
    expect(t.simulator.stats("sim-eu").credentials.slice(before)).toEqual([BYOK_KEY]);

    // Another tenant's admin (today: anyone allowed to apply catalogs) redirects sim-eu.
    const files = (await readCatalogFiles(t.app.config.catalogDir)).map((f) => ({
      name: f.name,
      content: f.content.replaceAll(
        // biome-ignore lint/suspicious/noTemplateCurlyInString: the catalog's own ${VAR} syntax
        "${SOVR_SIMULATOR_URL:-http://127.0.0.1:8089}/sim-eu/v1",
        `${trap.origin}/v1`,
      ),
    }));
    const applied = await grpcAs(keys.catalogChanger).unary(
      CatalogService,
      CatalogService.method.applyCatalog,
      {
        files,
      },
    );
    expect(applied.changed).toBe(true);

    // tb's next requests: nothing reaches the listener — not the key, not the prompt.
    const refused = await ask(["sim-eu"]).catch((e: unknown) => e as InstanceType<typeof OpenAI.APIError>);
    expect((refused as InstanceType<typeof OpenAI.APIError>).status).toBe(403);
    // The refusal is recorded, and replays to the same decision (the record alone implies it).
    const decisionId = (refused as InstanceType<typeof OpenAI.APIError>).headers?.get("x-sovr-decision-id");
    expect(decisionId).toBeTruthy();
    const replay = await grpcAs(keys.tbAuditor).unary(AuditService, AuditService.method.replayDecision, {
      decisionId: String(decisionId),
    });
    expect(replay.differences).toEqual([]);
    expect(replay.match).toBe(true);
    expect(JSON.stringify((refused as InstanceType<typeof OpenAI.APIError>).error)).toContain("byok_origin");
    const elsewhere = await ask();
    expect(elsewhere.response.headers.get("x-sovr-endpoint")).not.toMatch(/^sim-eu\//);
    expect(trap.seen).toEqual([]);

    // Explain says why, naming the unapproved origin and never the key.
    const explained = await grpcAs(keys.tbClient).unary(RouterService, RouterService.method.explain, {
      request: { model: "sim/chat-small" },
    });
    const simEu = explained.decision?.candidates.find((c) => c.endpointId === "sim-eu/chat-small");
    const rule = simEu?.exclusions.find((x) => x.rule === "byok_origin");
    expect(simEu?.eligible).toBe(false);
    expect(rule?.reason).toContain(`not approved for origin ${trap.origin}`);
    expect(toJsonString(ExplainResponseSchema, explained)).not.toContain(BYOK_KEY);

    // tb's admin sees the suspended origin; ta's admin can neither see nor approve tb's keys.
    const listed = await tbAdmin.unary(ByokService, ByokService.method.listKeys, {});
    expect(listed.keys.map((k) => [k.tenant, k.provider, k.suspendedOrigins])).toEqual([
      ["tb", "sim-eu", [trap.origin]],
    ]);
    expect(toJsonString(ByokServiceListKeysResponseSchema, listed)).not.toContain(BYOK_KEY);
    const taAdmin = grpcAs(keys.taAdmin);
    expect(
      await status(
        taAdmin.unary(ByokService, ByokService.method.approveOrigins, { tenant: "tb", provider: "sim-eu" }),
      ),
    ).toBe(grpc.status.PERMISSION_DENIED);
    const http = await fetch(`${t.app.httpUrl}/v1/admin/byok/tb/sim-eu/approve`, {
      method: "POST",
      headers: { authorization: `Bearer ${keys.taAdmin}`, "content-type": "application/json" },
      body: JSON.stringify({ origins: [trap.origin] }),
    });
    expect(http.status).toBe(403);
    await ask(["sim-eu"]).catch(() => {});
    expect(trap.seen).toEqual([]);

    // After tb's own approval, the key goes there (the tenant chose to send it).
    const approved = await tbAdmin.unary(ByokService, ByokService.method.approveOrigins, {
      tenant: "tb",
      provider: "sim-eu",
    });
    expect(approved.key?.approvedOrigins).toContain(trap.origin);
    expect(approved.key?.suspendedOrigins).toEqual([]);
    await ask(["sim-eu"]).catch(() => {});
    expect(trap.seen.map((h) => h.authorization)).toContain(`Bearer ${BYOK_KEY}`);
  }, 60_000);

  it("approved origins edited in the database void the key instead of widening it", async () => {
    const fresh = () => new ByokStore(t.app.db.db, MasterKey.parse(MASTER));
    expect((await fresh().keysFor("tb")).get("sim-eu")?.apiKey).toBe(BYOK_KEY);
    await t.app.db.db
      .updateTable("byok_keys")
      .set({ origins: JSON.stringify(["http://127.0.0.1:1", trap.origin]) })
      .where("tenant", "=", "tb")
      .execute();
    const tampered = (await fresh().keysFor("tb")).get("sim-eu");
    expect(tampered?.apiKey).toBeUndefined();
    expect(tampered?.origins).toEqual(new Set());
  });

  it("ByokService refuses every RPC for another tenant, and to non-admins", async () => {
    const ta = grpcAs(keys.taAdmin);
    const other = { tenant: "tb", provider: "sim-us" };
    expect(await status(ta.unary(ByokService, ByokService.method.setKey, { ...other, key: "x" }))).toBe(
      grpc.status.PERMISSION_DENIED,
    );
    expect(
      await status(ta.unary(ByokService, ByokService.method.removeKey, { tenant: "tb", provider: "sim-eu" })),
    ).toBe(grpc.status.PERMISSION_DENIED);
    expect(await status(ta.unary(ByokService, ByokService.method.listKeys, { tenant: "tb" }))).toBe(
      grpc.status.PERMISSION_DENIED,
    );
    expect(
      await status(grpcAs(keys.tbClient).unary(ByokService, ByokService.method.listKeys, { tenant: "tb" })),
    ).toBe(grpc.status.PERMISSION_DENIED);
    // Own tenant: fine, and an empty tenant means the caller's own.
    expect((await ta.unary(ByokService, ByokService.method.listKeys, {})).keys).toEqual([]);
    // The HTTP route applies the same rule.
    const put = await fetch(`${t.app.httpUrl}/v1/admin/byok/tb/sim-us`, {
      method: "PUT",
      headers: { authorization: `Bearer ${keys.taAdmin}`, "content-type": "application/json" },
      body: JSON.stringify({ key: "x" }),
    });
    expect(put.status).toBe(403);
    expect((await t.app.byok.list("tb")).map((k) => k.provider)).toEqual(["sim-eu"]);
    // A bad origin is InvalidArgument naming it.
    const bad = await ta
      .unary(ByokService, ByokService.method.approveOrigins, {
        tenant: "ta",
        provider: "sim-eu",
        origins: ["ftp://x"],
      })
      .catch((e: grpc.ServiceError) => e);
    expect((bad as grpc.ServiceError).code).toBe(grpc.status.INVALID_ARGUMENT);
    expect((bad as grpc.ServiceError).details).toMatch(/origin: .*http or https/);
  });
});
