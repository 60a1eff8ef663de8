import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ACCESS } from "../../src/auth/access.js";
import {
  CALLER_ROLES,
  CALLERS,
  type Caller,
  OTHER,
  OTHER_BYOK_SECRET,
  OWN,
  snapshot,
  startTenantWorld,
  type TenantWorld,
} from "../support/tenants.js";

/** Every HTTP route (ACCESS's non-RPC entries), with a request an authorised `ta` caller may send. */
const ROUTES: Record<string, { method: string; path: string; body?: object }> = {
  "POST /v1/chat/completions": {
    method: "POST",
    path: "/v1/chat/completions",
    body: { model: "sim/chat-small", region: "eu", messages: [{ role: "user", content: "hi" }] },
  },
  "POST /v1/messages": {
    method: "POST",
    path: "/v1/messages",
    body: {
      model: "sim/chat-small",
      region: "eu",
      max_tokens: 16,
      messages: [{ role: "user", content: "hi" }],
    },
  },
  "POST /v1/responses": {
    method: "POST",
    path: "/v1/responses",
    body: { model: "sim/chat-small", region: "eu", input: "hi" },
  },
  "POST /v1/embeddings": {
    method: "POST",
    path: "/v1/embeddings",
    body: { model: "sim/embed-small", region: "eu", input: "hi" },
  },
  "GET /v1/models": { method: "GET", path: "/v1/models" },
  "GET /v1/admin/byok": { method: "GET", path: "/v1/admin/byok" },
  "PUT /v1/admin/byok": { method: "PUT", path: `/v1/admin/byok/${OWN}/sim-us`, body: { key: "k-ta" } },
  "DELETE /v1/admin/byok": { method: "DELETE", path: `/v1/admin/byok/${OWN}/sim-us` },
  "POST /v1/admin/byok": {
    method: "POST",
    path: `/v1/admin/byok/${OWN}/sim-eu/approve`,
    body: { origins: [] },
  },
};

const allowed = (op: string, c: Caller) =>
  (ACCESS[op] as readonly string[]).some((r) => CALLER_ROLES[c].includes(r as never));

describe("role × tenant matrix (HTTP routes)", () => {
  let w: TenantWorld;
  beforeAll(async () => {
    w = await startTenantWorld();
  });
  afterAll(async () => {
    await w?.close();
  });

  const send = async (
    route: { method: string; path: string; body?: object },
    key?: string,
    tenant?: string,
  ): Promise<{ status: number; text: string }> => {
    const headers: Record<string, string> = { "content-type": "application/json" };
    if (key) headers.authorization = `Bearer ${key}`;
    if (tenant) headers["x-sovr-tenant"] = tenant;
    const res = await fetch(`${w.t.app.httpUrl}${route.path}`, {
      method: route.method,
      headers,
      body: route.body && JSON.stringify(route.body),
    });
    return { status: res.status, text: await res.text() };
  };

  it("covers every HTTP route in ACCESS (a new route without a row fails here)", () => {
    const http = Object.keys(ACCESS).filter((op) => /^[A-Z]+ \//.test(op));
    expect(http.sort()).toEqual(Object.keys(ROUTES).sort());
  });

  it("refuses every route without a key, with a revoked key, with a role it lacks, and for another tenant — executing nothing", async () => {
    const failures: string[] = [];
    for (const [op, route] of Object.entries(ROUTES)) {
      const refusals: { name: string; key?: string; tenant?: string; want: number }[] = [
        { name: "no key", want: 401 },
        { name: "revoked key", key: w.tokens.revoked, want: 401 },
      ];
      for (const c of CALLERS) {
        if (!allowed(op, c)) refusals.push({ name: c, key: w.tokens[c], want: 403 });
        else if (c !== "operator")
          refusals.push({ name: `${c} acting for ${OTHER}`, key: w.tokens[c], tenant: OTHER, want: 403 });
      }
      for (const r of refusals) {
        const before = await snapshot(w.t);
        const res = await send(route, r.key, r.tenant);
        const after = await snapshot(w.t);
        if (res.status !== r.want) failures.push(`${op} [${r.name}]: got ${res.status}, want ${r.want}`);
        if (JSON.stringify(after) !== JSON.stringify(before))
          failures.push(`${op} [${r.name}]: something executed ${JSON.stringify({ before, after })}`);
      }
      for (const c of CALLERS.filter((c) => allowed(op, c))) {
        const { status } = await send(route, w.tokens[c]);
        if (status === 401 || status === 403) failures.push(`${op} [${c}]: refused (${status})`);
      }
    }
    expect(failures).toEqual([]);
  }, 120_000);

  it("BYOK: a tenant admin reaches its own tenant's keys only; paths naming another tenant are 403 and change nothing", async () => {
    const admin = w.tokens.admin;
    const other = `/v1/admin/byok/${OTHER}/sim-eu`;
    const before = await snapshot(w.t);
    for (const route of [
      { method: "PUT", path: other, body: { key: "stolen" } },
      { method: "DELETE", path: other },
      { method: "POST", path: `${other}/approve`, body: { origins: [] } },
      { method: "GET", path: `/v1/admin/byok/${OTHER}` },
    ]) {
      const res = await send(route, admin);
      expect(res.status, `${route.method} ${route.path}`).toBe(403);
      expect(res.text).toMatch(/tenant: /);
    }
    expect(await snapshot(w.t)).toEqual(before);
    expect((await w.t.app.byok.keysFor(OTHER)).get("sim-eu")?.apiKey).toBe(OTHER_BYOK_SECRET);

    const list = await send({ method: "GET", path: "/v1/admin/byok" }, admin);
    expect(list.status).toBe(200);
    expect(JSON.parse(list.text).data.map((k: { tenant: string }) => k.tenant)).toEqual([OWN]);
    expect(list.text).not.toContain(OTHER_BYOK_SECRET);
    expect((await send({ method: "GET", path: `/v1/admin/byok/${OWN}` }, admin)).status).toBe(200);
    // The operator changes the catalog, so it holds no BYOK keys: refused, own tenant or not.
    expect((await send({ method: "GET", path: "/v1/admin/byok" }, w.tokens.operator)).status).toBe(403);
  });

  it("a client's chat is routed as its own tenant; naming another tenant is refused", async () => {
    const route = ROUTES["POST /v1/chat/completions"]!;
    expect((await send(route, w.tokens.client, OTHER)).status).toBe(403);
    const ok = await send(route, w.tokens.client, OWN);
    expect(ok.status).toBe(200);
  });
});
