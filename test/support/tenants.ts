import type { DescMethod } from "@bufbuild/protobuf";
import * as grpc from "@grpc/grpc-js";
import { createApiKey, type Role, revokeApiKey } from "../../src/auth/api-keys.js";
import { MasterKey } from "../../src/auth/byok.js";
import { RouterService } from "../../src/gen/sovereign/v1/router_pb.js";
import { startTestApp, type TestApp } from "./app.js";
import { GrpcJsClient } from "./grpc.js";

/**
 * Two tenants on one server for the role × tenant matrix: every caller below belongs to `ta`;
 * `tb` is the other tenant, with its own decision, keys and BYOK key the callers must not reach.
 */
export const OWN = "ta";
export const OTHER = "tb";
export const OTHER_BYOK_SECRET = "BYOK-SECRET-OF-TB-5c1e";

export const CALLERS = ["client", "auditor", "auditorAll", "admin", "operator"] as const;
export type Caller = (typeof CALLERS)[number];
export const CALLER_ROLES: Record<Caller, Role[]> = {
  client: ["client"],
  auditor: ["auditor"],
  auditorAll: ["auditor"],
  admin: ["admin"],
  operator: ["operator"],
};

export interface TenantWorld {
  t: TestApp;
  grpc: GrpcJsClient;
  tokens: Record<Caller | "revoked", string>;
  keyIds: Record<Caller, string>;
  /** A decision of each tenant, and a key of each tenant nobody calls with (a revoke target). */
  decision: { own: string; other: string };
  spareKey: { own: string; other: string };
  close(): Promise<void>;
}

export async function startTenantWorld(): Promise<TenantWorld> {
  const t = await startTestApp({ auth: true, env: { SOVR_MASTER_KEY: MasterKey.generate() } });
  const db = t.app.db.db;
  const tokens = {} as TenantWorld["tokens"];
  const keyIds = {} as TenantWorld["keyIds"];
  for (const c of CALLERS) {
    const k = await createApiKey(db, { tenant: OWN, roles: CALLER_ROLES[c], allTenants: c === "auditorAll" });
    tokens[c] = k.token;
    keyIds[c] = k.key.keyId;
  }
  const revoked = await createApiKey(db, { tenant: OWN, roles: ["client", "auditor", "admin", "operator"] });
  await revokeApiKey(db, revoked.key.keyId);
  tokens.revoked = revoked.token;
  const otherClient = await createApiKey(db, { tenant: OTHER, roles: ["client"] });
  const spareOwn = await createApiKey(db, { tenant: OWN, roles: ["client"] });
  const spareOther = await createApiKey(db, { tenant: OTHER, roles: ["admin"] });
  await t.app.auth.refresh();
  await t.app.byokAdmin.set(undefined, OWN, "sim-eu", "BYOK-SECRET-OF-TA-77d0", false);
  await t.app.byokAdmin.set(undefined, OTHER, "sim-eu", OTHER_BYOK_SECRET, false);

  const grpcClient = new GrpcJsClient(`127.0.0.1:${t.app.servers.grpcPort}`);
  const chatAs = async (token: string) =>
    (
      await grpcClient.unary(
        RouterService,
        RouterService.method.chat,
        { model: "sim/chat-small", region: "eu", messages: [{ role: "user", content: "hi" }] },
        md(token),
      )
    ).route!.decisionId;
  const decision = { own: await chatAs(tokens.client), other: await chatAs(otherClient.token) };
  await t.app.audit.drain();
  return {
    t,
    grpc: grpcClient,
    tokens,
    keyIds,
    decision,
    spareKey: { own: spareOwn.key.keyId, other: spareOther.key.keyId },
    async close() {
      grpcClient.close();
      await t.close();
    },
  };
}

export function md(key?: string, tenant?: string): grpc.Metadata {
  const m = new grpc.Metadata();
  if (key) m.set("authorization", `Bearer ${key}`);
  if (tenant) m.set("x-sovr-tenant", tenant);
  return m;
}

export interface CallResult {
  code: grpc.status;
  message: string;
  /** The response (or the stream's messages) as JSON, to look for another tenant's data. */
  body: string;
}

const json = (v: unknown) => JSON.stringify(v, (_, x) => (typeof x === "bigint" ? String(x) : x));

/**
 * Calls any RPC; a stream is read to its end, or to its first message when it never ends
 * (WatchCatalog), or to its 50th.
 */
export function call(client: GrpcJsClient, method: DescMethod, req: object, meta: grpc.Metadata) {
  const limit = method.name === "WatchCatalog" ? 1 : 50;
  if (method.methodKind === "unary") {
    return client.unary(method.parent, method as never, req as never, meta).then(
      (res): CallResult => ({ code: grpc.status.OK, message: "", body: json(res) }),
      (e: grpc.ServiceError): CallResult => ({ code: e.code, message: e.details, body: "" }),
    );
  }
  return new Promise<CallResult>((resolve) => {
    const got: unknown[] = [];
    const stream = client.serverStream(method.parent, method as never, req as never, meta);
    stream.on("data", (m) => {
      got.push(m);
      if (got.length >= limit) {
        resolve({ code: grpc.status.OK, message: "", body: json(got) });
        stream.cancel();
      }
    });
    stream.on("error", (e: grpc.ServiceError) =>
      resolve(
        e.code === grpc.status.CANCELLED
          ? { code: grpc.status.OK, message: "", body: json(got) }
          : { code: e.code, message: e.details, body: json(got) },
      ),
    );
    stream.on("end", () => resolve({ code: grpc.status.OK, message: "", body: json(got) }));
  });
}

/** Everything a refused call must leave unchanged. Outcome records land after the response. */
export async function snapshot(t: TestApp) {
  const db = t.app.db.db;
  const count = async (table: "audit_log" | "api_keys") =>
    Number(
      (
        await db
          .selectFrom(table)
          .select((eb) => eb.fn.countAll().as("n"))
          .executeTakeFirstOrThrow()
      ).n,
    );
  return {
    drained: await t.app.audit.drain(),
    upstream: t.simulator.stats("sim-eu").requests,
    log: await count("audit_log"),
    keys: await count("api_keys"),
    revoked: (await db.selectFrom("api_keys").select("key_id").where("revoked_at", "is not", null).execute())
      .map((r) => r.key_id)
      .sort(),
    byok: json(await t.app.byok.list()),
    budgets: json(await t.app.budgets.list(undefined)),
    catalog: t.app.catalog.current().revision,
  };
}
