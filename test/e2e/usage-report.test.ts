/**
 * The usage report (issue 17): `UsageService.GetUsage` and `sovr usage` add up what the signed
 * outcome records say, per tenant, key, model and endpoint, inside the caller's tenant walls.
 */
import { execFile } from "node:child_process";
import { join } from "node:path";
import { promisify } from "node:util";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import * as grpc from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createApiKey } from "../../src/auth/api-keys.js";
import { RouterService } from "../../src/gen/sovereign/v1/router_pb.js";
import { UsageGroupBy, UsageService } from "../../src/gen/sovereign/v1/usage_pb.js";
import { appDatabases, REPO, startTestApp, type TestApp } from "../support/app.js";
import { GrpcJsClient } from "../support/grpc.js";
import { md } from "../support/tenants.js";

const run = promisify(execFile);
const HOUR = 3_600_000;

describe.each(appDatabases)("usage report (%s)", (database) => {
  let t: TestApp;
  let client: GrpcJsClient;
  const tokens: Record<string, string> = {};
  const keyIds: Record<string, string> = {};
  /** What the callers were told, per key: requests, prompt and completion tokens, micro-USD. */
  const seen: Record<string, { requests: number; input: number; output: number; cost: number }> = {};

  beforeAll(async () => {
    t = await startTestApp({ auth: true, database });
    const db = t.app.db.db;
    const keys: [string, string, ("client" | "auditor" | "admin" | "operator")[], boolean?][] = [
      ["a1", "ta", ["client"]],
      ["a2", "ta", ["client"]],
      ["b1", "tb", ["client"]],
      ["auditorA", "ta", ["auditor"]],
      ["adminA", "ta", ["admin"]],
      ["auditorAll", "ta", ["auditor"], true],
      ["operator", "ta", ["operator"]],
    ];
    for (const [name, tenant, roles, allTenants] of keys) {
      const k = await createApiKey(db, { tenant, roles, allTenants: allTenants ?? false });
      tokens[name] = k.token;
      keyIds[name] = k.key.keyId;
    }
    await t.app.auth.refresh();
    client = new GrpcJsClient(`127.0.0.1:${t.app.servers.grpcPort}`);
    const plan: [string, string][] = [
      ["a1", "sim/chat-small"],
      ["a1", "sim/chat-small"],
      ["a1", "sim/chat-small"],
      ["a2", "sim/chat-small"],
      ["b1", "sim/chat-small"],
      ["b1", "sim/chat-small"],
    ];
    for (const [name, model] of plan) {
      const res = await client.unary(
        RouterService,
        RouterService.method.chat,
        { model, region: "eu", messages: [{ role: "user", content: `usage of ${name}, a few words long` }] },
        md(tokens[name]),
      );
      seen[name] ??= { requests: 0, input: 0, output: 0, cost: 0 };
      const s = seen[name];
      s.requests++;
      s.input += Number(res.usage!.promptTokens);
      s.output += Number(res.usage!.completionTokens);
      s.cost += Number(res.usage!.costMicroUsd);
    }
    await t.app.audit.drain();
  }, 60_000);
  afterAll(async () => {
    client?.close();
    await t?.close();
  });

  const usage = (caller: string, by: UsageGroupBy, extra: { tenant?: string; from?: Date; to?: Date } = {}) =>
    client.unary(
      UsageService,
      UsageService.method.getUsage,
      {
        groupBy: by,
        startTime: timestampFromDate(extra.from ?? new Date(Date.now() - HOUR)),
        endTime: extra.to && timestampFromDate(extra.to),
        tenant: extra.tenant ?? "",
      },
      md(tokens[caller]),
    );

  it("per key: exactly the tokens and cost the callers were answered with; nothing from another tenant", async () => {
    const res = await usage("auditorA", UsageGroupBy.KEY);
    const byKey = Object.fromEntries(res.rows.map((r) => [r.group, r]));
    expect(Object.keys(byKey).sort()).toEqual([keyIds.a1, keyIds.a2].sort());
    for (const name of ["a1", "a2"]) {
      const r = byKey[keyIds[name]!]!;
      const s = seen[name]!;
      expect(s.input).toBeGreaterThan(0);
      expect(s.cost).toBeGreaterThan(0);
      expect({
        requests: Number(r.requests),
        succeeded: Number(r.succeeded),
        input: Number(r.inputTokens),
        output: Number(r.outputTokens),
        cost: Number(r.costMicroUsd),
      }).toEqual({ ...s, succeeded: s.requests });
    }
    // Largest cost first.
    expect(res.rows.map((r) => r.group)).toEqual([keyIds.a1, keyIds.a2]);
  });

  it("per tenant: a tenant admin sees its own; an operator and an all-tenant auditor see both; another tenant is refused on `tenant`", async () => {
    const sum = (names: string[]) => names.reduce((n, k) => n + seen[k]!.cost, 0);
    const own = await usage("adminA", UsageGroupBy.TENANT);
    expect(own.rows.map((r) => [r.group, Number(r.requests), Number(r.costMicroUsd)])).toEqual([
      ["ta", 4, sum(["a1", "a2"])],
    ]);
    for (const caller of ["operator", "auditorAll"]) {
      const all = await usage(caller, UsageGroupBy.TENANT);
      const m = Object.fromEntries(all.rows.map((r) => [r.group, Number(r.costMicroUsd)]));
      expect(m).toEqual({ ta: sum(["a1", "a2"]), tb: sum(["b1"]) });
      const onlyB = await usage(caller, UsageGroupBy.MODEL, { tenant: "tb" });
      expect(onlyB.rows.map((r) => [r.group, Number(r.requests)])).toEqual([["sim/chat-small", 2]]);
    }
    for (const caller of ["auditorA", "adminA"]) {
      const err = await usage(caller, UsageGroupBy.TENANT, { tenant: "tb" }).catch(
        (e: grpc.ServiceError) => e,
      );
      expect((err as grpc.ServiceError).code).toBe(grpc.status.PERMISSION_DENIED);
      expect((err as grpc.ServiceError).details).toMatch(/^tenant: /);
      // A tenant that does not exist is answered the same way.
      const none = await usage(caller, UsageGroupBy.TENANT, { tenant: "nope" }).catch(
        (e: grpc.ServiceError) => e,
      );
      expect((none as grpc.ServiceError).code).toBe(grpc.status.PERMISSION_DENIED);
    }
  });

  it("per endpoint and model; the time range excludes what is outside it; bad requests name the field", async () => {
    const ep = await usage("auditorA", UsageGroupBy.ENDPOINT);
    expect(ep.rows.reduce((n, r) => n + Number(r.requests), 0)).toBe(4);
    expect(ep.rows.every((r) => r.group.startsWith("sim-"))).toBe(true);
    const past = await usage("auditorA", UsageGroupBy.MODEL, {
      from: new Date(Date.now() - 2 * HOUR),
      to: new Date(Date.now() - HOUR),
    });
    expect(past.rows).toEqual([]);
    const bad = async (req: object, field: string) => {
      const err = await client
        .unary(UsageService, UsageService.method.getUsage, req as never, md(tokens.auditorA))
        .catch((e: grpc.ServiceError) => e);
      expect((err as grpc.ServiceError).code).toBe(grpc.status.INVALID_ARGUMENT);
      expect((err as grpc.ServiceError).details).toMatch(new RegExp(`^${field}`));
    };
    await bad({ startTime: timestampFromDate(new Date()) }, "group_by");
    await bad({ groupBy: UsageGroupBy.KEY }, "start_time");
    await bad(
      {
        groupBy: UsageGroupBy.KEY,
        startTime: timestampFromDate(new Date()),
        endTime: timestampFromDate(new Date(Date.now() - HOUR)),
      },
      "end_time",
    );
  });

  // The CLI is the same client on either database: run it once.
  it.runIf(database === "pglite")(
    "sovr usage --by key --since 1h (table, --json, --csv) against the running server",
    async () => {
      const sovr = (args: string[]) =>
        run(process.execPath, [join(REPO, "bin/sovr.js"), "usage", ...args], {
          cwd: REPO,
          env: {
            ...process.env,
            SOVR_URL: `http://127.0.0.1:${t.app.servers.httpPort}`,
            SOVR_KEY: tokens.auditorA,
          },
        });
      const json = JSON.parse((await sovr(["--by", "key", "--since", "1h", "--json"])).stdout) as {
        by: string;
        rows: { group: string; requests: string; input_tokens: string; cost_usd: string }[];
      };
      expect(json.by).toBe("key");
      const a1 = json.rows.find((r) => r.group === keyIds.a1)!;
      expect(a1.requests).toBe("3");
      expect(a1.input_tokens).toBe(String(seen.a1!.input));
      expect(a1.cost_usd).toBe((seen.a1!.cost / 1e6).toFixed(6));
      const csv = (await sovr(["--by", "key", "--since", "1h", "--csv"])).stdout.trim().split("\n");
      expect(csv[0]).toBe("key,requests,succeeded,input_tokens,output_tokens,cost_usd");
      expect(csv).toHaveLength(3);
      const table = (await sovr(["--by", "tenant"])).stdout;
      expect(table).toMatch(/^ta\s+4\s+4\s/m);
      expect(table).not.toContain("tb");
      const refused = await sovr(["--by", "key", "--since", "yesterday"]).catch((e: { stderr: string }) => e);
      expect((refused as { stderr: string }).stderr).toContain("--since: expected a duration");
    },
    60_000,
  );
});
