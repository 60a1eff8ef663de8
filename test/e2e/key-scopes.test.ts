import * as grpc from "@grpc/grpc-js";
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type DsseEnvelope, envelopePayload } from "../../src/audit/dsse.js";
import { candidateRows, type DecisionRecord } from "../../src/audit/index.js";
import { createApiKey, parseApiKey, type Role } from "../../src/auth/index.js";
import type { KeyScope } from "../../src/auth/key-scope.js";
import { AuditService } from "../../src/gen/sovereign/v1/audit_pb.js";
import { KeyService, Role as RoleEnum } from "../../src/gen/sovereign/v1/keys_pb.js";
import { RouterService } from "../../src/gen/sovereign/v1/router_pb.js";
import { appDatabases, startTestApp, type TestApp } from "../support/app.js";
import { GrpcJsClient } from "../support/grpc.js";

type GrpcError = grpc.ServiceError;
const hi = [{ role: "user" as const, content: "hi" }];

async function recordOf(t: TestApp, decisionId: string): Promise<DecisionRecord> {
  await t.app.audit.settled();
  const row = await t.app.db.db
    .selectFrom("audit_log")
    .select("envelope")
    .where("decision_id", "=", decisionId)
    .where("kind", "=", "decision")
    .executeTakeFirstOrThrow();
  return JSON.parse(
    new TextDecoder().decode(envelopePayload(JSON.parse(row.envelope) as DsseEnvelope)),
  ) as DecisionRecord;
}

describe.each(appDatabases)("API key expiry and scopes over gRPC and HTTP (%s)", (database) => {
  let t: TestApp;
  const clients: GrpcJsClient[] = [];
  const key = async (
    roles: Role[],
    opts: { scope?: KeyScope; expiresAt?: Date; maxRole?: Role; tenant?: string } = {},
  ) => {
    const created = await createApiKey(t.app.db.db, { tenant: opts.tenant ?? "acme", roles, ...opts });
    await t.app.auth.refresh();
    return created;
  };
  const grpcAs = (token: string) => {
    const c = new GrpcJsClient(`127.0.0.1:${t.app.servers.grpcPort}`, { key: token });
    clients.push(c);
    return c;
  };
  const openaiAs = (token: string) =>
    new OpenAI({ baseURL: `${t.app.httpUrl}/v1`, apiKey: token, maxRetries: 0 });

  beforeAll(async () => {
    t = await startTestApp({ auth: true, database });
  });
  afterAll(async () => {
    for (const c of clients) c.close();
    await t?.close();
  });

  it("an expired key is refused as expired on both ports, naming no secret", async () => {
    const { key: info, token } = await key(["client"], { expiresAt: new Date(Date.now() + 3_600_000) });
    const g = grpcAs(token);
    const ok = await g.unary(RouterService, RouterService.method.chat, {
      model: "sim/chat-small",
      region: "eu",
      messages: hi,
    });
    expect(ok.route?.endpointId).toBe("sim-eu/chat-small");

    // Its expiry moves into the past (as time passing would do), on any replica's table.
    await t.app.db.db
      .updateTable("api_keys")
      .set({ expires_at: new Date(Date.now() - 1000) })
      .where("key_id", "=", info.keyId)
      .execute();
    await t.app.auth.refresh();

    const err = (await g
      .unary(RouterService, RouterService.method.chat, {
        model: "sim/chat-small",
        region: "eu",
        messages: hi,
      })
      .catch((e: unknown) => e)) as GrpcError;
    expect(err.code).toBe(grpc.status.UNAUTHENTICATED);
    expect(err.details).toBe("expired API key");
    const secret = parseApiKey(token)!.secret;
    expect(err.details).not.toContain(secret);

    const http = (await openaiAs(token)
      .chat.completions.create({ model: "sim/chat-small", messages: hi })
      .catch((e: unknown) => e)) as InstanceType<typeof OpenAI.APIError>;
    expect(http).toBeInstanceOf(OpenAI.AuthenticationError);
    expect(http.status).toBe(401);
    expect(http.message).toContain("expired API key");
    expect(JSON.stringify(http.error)).not.toContain(secret);
  });

  it("a model outside the key's scope is PermissionDenied / 403 naming the field; globs match", async () => {
    const { token } = await key(["client"], { scope: { models: ["sim/chat-s*"], providers: [] } });
    const g = grpcAs(token);
    const ok = await g.unary(RouterService, RouterService.method.chat, {
      model: "sim/chat-small",
      region: "eu",
      messages: hi,
    });
    expect(ok.route?.endpointId).toBe("sim-eu/chat-small");

    const denied = (await g
      .unary(RouterService, RouterService.method.chat, {
        model: "sim/chat-large",
        region: "eu",
        messages: hi,
      })
      .catch((e: unknown) => e)) as GrpcError;
    expect(denied.code).toBe(grpc.status.PERMISSION_DENIED);
    expect(denied.details).toMatch(/^model: /);
    const fallback = (await g
      .unary(RouterService, RouterService.method.explain, {
        request: { model: "sim/chat-small", models: ["sim/chat-large"] },
      })
      .catch((e: unknown) => e)) as GrpcError;
    expect(fallback.code).toBe(grpc.status.PERMISSION_DENIED);
    expect(fallback.details).toMatch(/^models\[0\]: /);

    const openai = openaiAs(token);
    const http = (await openai.chat.completions
      .create({ model: "sim/chat-large", messages: hi })
      .catch((e: unknown) => e)) as InstanceType<typeof OpenAI.APIError>;
    expect(http).toBeInstanceOf(OpenAI.PermissionDeniedError);
    expect(http.status).toBe(403);
    expect((http.error as { param?: string }).param).toBe("model");
    // The model list shows only what the key may ask for.
    const models = (await openai.models.list()).data.map((m) => m.id);
    expect(models).toEqual(["sim/chat-small"]);
  });

  it("providers outside the scope are excluded with rule key_scope in Explain and the record; none left is a recorded denial that replays", async () => {
    const { token } = await key(["client"], { scope: { models: [], providers: ["sim-us"] } });
    const explained = await grpcAs(token).unary(RouterService, RouterService.method.explain, {
      request: { model: "sim/chat-small" },
    });
    const simEu = explained.decision?.candidates.find((c) => c.endpointId === "sim-eu/chat-small");
    expect(simEu?.eligible).toBe(false);
    expect(simEu?.exclusions.map((x) => x.rule)).toContain("key_scope");
    expect(simEu?.exclusions.find((x) => x.rule === "key_scope")?.reason).toBe(
      "key_scope: provider sim-eu is not among the API key's allowed providers",
    );
    for (const p of explained.decision?.plan ?? []) expect(p).toMatch(/^sim-us\//);

    // In the EU only sim-eu may serve, and the key may not reach it: denied, fail closed.
    const refused = (await openaiAs(token)
      .chat.completions.create({
        model: "sim/chat-small",
        messages: hi,
        // @ts-expect-error OpenRouter's region is not in the SDK's types
        region: "eu",
      })
      .catch((e: unknown) => e)) as InstanceType<typeof OpenAI.APIError>;
    expect(refused.status).toBe(403);
    expect(JSON.stringify(refused.error)).toContain("key_scope");
    const decisionId = String(refused.headers?.get("x-sovr-decision-id"));
    const record = await recordOf(t, decisionId);
    expect(record.plan).toEqual([]);
    expect(
      candidateRows(record)
        .find((c) => c.endpoint_id === "sim-eu/chat-small")!
        .exclusions.map((x) => x.rule),
    ).toContain("key_scope");

    // The record alone implies the key's provider scope: the replay decides the same.
    const auditor = (await key(["auditor"])).token;
    const replay = await grpcAs(auditor).unary(AuditService, AuditService.method.replayDecision, {
      decisionId,
    });
    expect(replay.differences).toEqual([]);
    expect(replay.match).toBe(true);
  });

  it("KeyService: new fields are created and listed (never the secret); max role and scope bound what a key grants", async () => {
    const operator = grpcAs((await key(["operator"], { tenant: "ops" })).token);
    const expiresAt = new Date(Date.now() + 30 * 86_400_000);
    const made = await operator.unary(KeyService, KeyService.method.createKey, {
      tenant: "acme",
      roles: [RoleEnum.ADMIN],
      label: "provisioner",
      maxRole: RoleEnum.CLIENT,
      allowedModels: ["sim/*"],
      allowedProviders: ["sim-eu", "sim-us"],
      expiresAt: { seconds: BigInt(Math.floor(expiresAt.getTime() / 1000)), nanos: 0 },
    });
    expect(made.key).toMatchObject({
      label: "provisioner",
      maxRole: RoleEnum.CLIENT,
      allowedModels: ["sim/*"],
      allowedProviders: ["sim-eu", "sim-us"],
    });
    expect(Number(made.key!.expiresAt!.seconds)).toBe(Math.floor(expiresAt.getTime() / 1000));
    const listed = await operator.unary(KeyService, KeyService.method.listKeys, { tenant: "acme" });
    const row = listed.keys.find((k) => k.keyId === made.key!.keyId)!;
    expect(row).toMatchObject({ label: "provisioner", allowedModels: ["sim/*"], maxRole: RoleEnum.CLIENT });
    expect(JSON.stringify(listed.keys, (_k, v) => (typeof v === "bigint" ? String(v) : v))).not.toContain(
      parseApiKey(made.secret)!.secret,
    );

    // The provisioner mints client keys inside its own scope, and nothing more.
    const provisioner = grpcAs(made.secret);
    const create = (req: object) =>
      provisioner
        .unary(KeyService, KeyService.method.createKey, {
          roles: [RoleEnum.CLIENT],
          allowedModels: ["sim/chat-small"],
          allowedProviders: ["sim-eu"],
          ...req,
        })
        .catch((e: unknown) => e as GrpcError);
    const client = await create({});
    expect(client).toHaveProperty("key.roles", [RoleEnum.CLIENT]);
    const refusals: [object, string][] = [
      [{ roles: [RoleEnum.AUDITOR] }, "roles[0]: this key grants at most the role client"],
      [{ roles: [RoleEnum.ADMIN] }, "roles[0]: this key grants at most the role client"],
      [{ maxRole: RoleEnum.ADMIN }, "max_role: this key grants at most the role client"],
      [{ allowedModels: [] }, "allowed_models: this key's models are limited, so the new key's must be too"],
      [{ allowedModels: ["other/*"] }, "allowed_models[0]: outside this key's allowed models"],
      [{ allowedProviders: ["sim-unknown"] }, "allowed_providers[0]: outside this key's allowed providers"],
    ];
    for (const [req, message] of refusals) {
      const err = (await create(req)) as GrpcError;
      expect(err.code, message).toBe(grpc.status.PERMISSION_DENIED);
      expect(err.details).toBe(message);
    }
    // Input the server cannot take: InvalidArgument naming the field.
    const past = (await create({ expiresAt: { seconds: 1n, nanos: 0 } })) as GrpcError;
    expect([past.code, past.details]).toEqual([
      grpc.status.INVALID_ARGUMENT,
      "expires_at: must be in the future",
    ]);
    const glob = (await create({ allowedModels: ["sim/chat small"] })) as GrpcError;
    expect(glob.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(glob.details).toMatch(/^allowed_models\[0\]: /);
  });
});
