import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type DatabaseHandle, openDatabase } from "../db/index.js";
import { ACCESS, AuthError, authorize } from "./access.js";
import { Authenticator, createApiKey, type Role, revokeApiKey } from "./api-keys.js";

const APPLY = "sovereign.v1.CatalogService/ApplyCatalog";
const EXPLAIN = "sovereign.v1.RouterService/Explain";
const CREATE_KEY = "sovereign.v1.KeyService/CreateKey";
const QUERY = "sovereign.v1.AuditService/QueryDecisions";

describe("authorize()", () => {
  let h: DatabaseHandle;
  let auth: Authenticator;
  const keys: Record<string, { token: string; keyId: string }> = {};
  let closed = false;

  const make = async (name: string, roles: Role[], allTenants = false) => {
    const { key, token } = await createApiKey(h.db, { tenant: "ta", roles, allTenants });
    keys[name] = { token, keyId: key.keyId };
  };
  /** The failure kind authorize() throws, or the principal it returns. */
  const check = (op: string, key: string | undefined, tenant?: string) =>
    authorize(auth, op, key && `Bearer ${keys[key]?.token ?? key}`, tenant).catch((e: unknown) => {
      if (e instanceof AuthError) return e.failure;
      throw e;
    });

  beforeAll(async () => {
    h = await openDatabase({ dataDir: "memory://" });
    for (const role of ["client", "auditor", "admin", "operator"] as const) await make(role, [role]);
    await make("auditorAll", ["auditor"], true);
    await make("revoked", ["operator"]);
    await revokeApiKey(h.db, keys.revoked!.keyId);
    auth = new Authenticator(h.db);
    await auth.start();
  });
  afterAll(async () => {
    auth?.stop();
    if (!closed) await h?.close();
  });

  it("lets public operations through without a key, and nothing else", async () => {
    expect(await check("grpc.health.v1.Health/Check", undefined)).toBeUndefined();
    expect(await check(EXPLAIN, undefined)).toBe("unauthenticated");
    expect(await check(EXPLAIN, "sovr_malformed")).toBe("unauthenticated");
    expect(await check(EXPLAIN, "revoked")).toBe("unauthenticated");
    expect(await check("sovereign.v1.Nothing/Unlisted", "operator")).toBe("permission_denied");
  });

  it("fills the principal with the key's tenant, id and all_tenants grant", async () => {
    expect(await check(QUERY, "auditor")).toEqual({
      tenant: "ta",
      workload: "",
      roles: ["auditor"],
      keyId: keys.auditor!.keyId,
      allTenants: false,
      identity: { kind: "api_key", subject: keys.auditor!.keyId, claims: {} },
    });
    expect(await check(QUERY, "auditorAll")).toMatchObject({ tenant: "ta", allTenants: true });
  });

  it("gives catalog changes to the operator only, keys to admin and operator, Explain to no auditor", async () => {
    expect(ACCESS[APPLY]).toEqual(["operator"]);
    expect(await check(APPLY, "admin")).toBe("permission_denied");
    expect(await check(APPLY, "operator")).toMatchObject({ tenant: "ta" });
    expect(await check(CREATE_KEY, "admin")).toMatchObject({ tenant: "ta" });
    expect(await check(CREATE_KEY, "operator")).toMatchObject({ tenant: "ta" });
    expect(await check(CREATE_KEY, "auditor")).toBe("permission_denied");
    expect(await check(EXPLAIN, "operator")).toMatchObject({ tenant: "ta" });
    expect(await check(EXPLAIN, "auditor")).toBe("permission_denied");
    expect(await check("PUT /v1/admin/byok", "operator")).toBe("permission_denied");
    expect(await check("PUT /v1/admin/byok", "admin")).toMatchObject({ tenant: "ta" });
  });

  it("binds x-sovr-tenant to the key's tenant for every role but operator", async () => {
    expect(await check(EXPLAIN, "client", "ta")).toMatchObject({ tenant: "ta" });
    expect(await check(EXPLAIN, "client", "tb")).toBe("permission_denied");
    expect(await check(CREATE_KEY, "admin", "tb")).toBe("permission_denied");
    expect(await check(QUERY, "auditor", "tb")).toBe("permission_denied");
    expect(await check(QUERY, "auditorAll", "tb")).toBe("permission_denied");
    expect(await check(CREATE_KEY, "operator", "tb")).toMatchObject({ tenant: "tb" });
  });

  it("answers unavailable when the key table cannot be read (the last test: it closes the database)", async () => {
    const lost = new Authenticator(h.db, 1);
    await h.close();
    closed = true;
    const failure = await authorize(lost, EXPLAIN, `Bearer ${keys.client!.token}`, undefined).catch(
      (e: AuthError) => e.failure,
    );
    expect(failure).toBe("unavailable");
  });
});
