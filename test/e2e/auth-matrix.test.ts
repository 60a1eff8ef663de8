import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { DescMethod, DescService } from "@bufbuild/protobuf";
import * as grpc from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { DecisionRecord } from "../../src/audit/index.js";
import { ACCESS } from "../../src/auth/access.js";
import { parseApiKey } from "../../src/auth/api-keys.js";
import { AuditService } from "../../src/gen/sovereign/v1/audit_pb.js";
import { BudgetPeriod, BudgetService } from "../../src/gen/sovereign/v1/budget_pb.js";
import { ByokService } from "../../src/gen/sovereign/v1/byok_pb.js";
import { CatalogService } from "../../src/gen/sovereign/v1/catalog_pb.js";
import { KeyService, Role } from "../../src/gen/sovereign/v1/keys_pb.js";
import { RouterService } from "../../src/gen/sovereign/v1/router_pb.js";
import { UsageGroupBy, UsageService } from "../../src/gen/sovereign/v1/usage_pb.js";
import { REPO } from "../support/app.js";
import {
  CALLER_ROLES,
  CALLERS,
  type Caller,
  call,
  md,
  OTHER,
  OWN,
  snapshot,
  startTenantWorld,
  type TenantWorld,
} from "../support/tenants.js";

const SERVICES: DescService[] = [
  RouterService,
  CatalogService,
  AuditService,
  KeyService,
  ByokService,
  UsageService,
  BudgetService,
];
const UNKNOWN_DECISION = "01a20137-0000-7000-8000-000000000000";
/** A real bundle for PolicyImpact (the shipped one as the "draft": nothing changes). */
const DRAFT = new Uint8Array(readFileSync(join(REPO, "policies/dist/bundle.tar.gz")));

/** A request each RPC accepts from an authorised caller of tenant `ta`. */
function requestFor(method: DescMethod, w: TenantWorld): object {
  switch (`${method.parent.name}/${method.name}`) {
    case "RouterService/Chat":
    case "RouterService/ChatStream":
      return { model: "sim/chat-small", region: "eu", messages: [{ role: "user", content: "hi" }] };
    case "RouterService/Embed":
      return { model: "sim/embed-small", region: "eu", input: ["hi"] };
    case "RouterService/Explain":
      return { request: { model: "sim/chat-small" } };
    case "CatalogService/GetEndpoint":
      return { id: "sim-eu/chat-small" };
    case "CatalogService/GetRevision":
      return { revision: w.t.app.catalog.current().revision };
    case "CatalogService/ApplyCatalog":
      return { files: [{ name: "x.yaml", content: "not: [valid" }], validateOnly: true };
    case "AuditService/GetDecision":
    case "AuditService/GetInclusionProof":
    case "AuditService/ReplayDecision":
      return { decisionId: w.decision.own };
    case "AuditService/WatchDecisions":
      return { fromSeq: 0n };
    case "AuditService/PolicyImpact":
      return { bundle: DRAFT, startTime: { seconds: 0n } };
    case "AuditService/GetConsistencyProof":
      return { firstSize: 1n, secondSize: 1n };
    case "KeyService/CreateKey":
      return { tenant: OWN, roles: [Role.CLIENT] };
    case "KeyService/RevokeKey":
      return { keyId: "000000000000" };
    case "ByokService/SetKey":
      return { tenant: OWN, provider: "sim-us", key: "BYOK-MATRIX-k" };
    case "ByokService/RemoveKey":
      return { tenant: OWN, provider: "sim-us" };
    case "ByokService/ListKeys":
      return { tenant: OWN };
    case "ByokService/ApproveOrigins":
      return { tenant: OWN, provider: "sim-eu" };
    case "UsageService/GetUsage":
      return { groupBy: UsageGroupBy.TENANT, startTime: { seconds: 0n } };
    // Large enough never to refuse a later test's request.
    case "BudgetService/SetBudget":
      return { tenant: OWN, period: BudgetPeriod.MONTH, usdMicros: 10n ** 12n };
    case "BudgetService/ListBudgets":
      return { tenant: OWN };
    case "BudgetService/DeleteBudget":
      return { tenant: OWN, period: BudgetPeriod.MONTH };
    default:
      return {};
  }
}

const allowed = (op: string, c: Caller) =>
  (ACCESS[op] as readonly string[]).some((r) => CALLER_ROLES[c].includes(r as never));

describe("role × tenant matrix (gRPC)", () => {
  let w: TenantWorld;
  beforeAll(async () => {
    w = await startTenantWorld();
  });
  afterAll(async () => {
    await w?.close();
  });

  it("has an access rule for every RPC, and a matrix row for every rule (a new RPC without either fails here)", () => {
    const rpcs = SERVICES.flatMap((s) => s.methods.map((m) => `${s.typeName}/${m.name}`));
    for (const rpc of rpcs) expect(ACCESS[rpc], rpc).toBeDefined();
    const ours = Object.keys(ACCESS).filter((op) => op.startsWith("sovereign."));
    expect(ours.filter((op) => !rpcs.includes(op))).toEqual([]);
  });

  it("refuses every RPC without a key, with a revoked key, with a role it lacks, and for another tenant (x-sovr-tenant) unless an operator — executing nothing", async () => {
    const failures: string[] = [];
    for (const service of SERVICES) {
      for (const method of service.methods) {
        const op = `${service.typeName}/${method.name}`;
        const req = requestFor(method, w);
        const refusals: { name: string; meta: grpc.Metadata; want: grpc.status }[] = [
          { name: "no key", meta: md(), want: grpc.status.UNAUTHENTICATED },
          { name: "malformed key", meta: md("sovr_nope"), want: grpc.status.UNAUTHENTICATED },
          { name: "revoked key", meta: md(w.tokens.revoked), want: grpc.status.UNAUTHENTICATED },
        ];
        for (const c of CALLERS) {
          if (!allowed(op, c))
            refusals.push({ name: c, meta: md(w.tokens[c]), want: grpc.status.PERMISSION_DENIED });
          else if (c !== "operator")
            refusals.push({
              name: `${c} acting for ${OTHER}`,
              meta: md(w.tokens[c], OTHER),
              want: grpc.status.PERMISSION_DENIED,
            });
        }
        for (const r of refusals) {
          const before = await snapshot(w.t);
          const res = await call(w.grpc, method, req, r.meta);
          const after = await snapshot(w.t);
          if (res.code !== r.want)
            failures.push(`${op} [${r.name}]: got ${grpc.status[res.code]}, want ${grpc.status[r.want]}`);
          if (JSON.stringify(after) !== JSON.stringify(before))
            failures.push(`${op} [${r.name}]: something executed ${JSON.stringify({ before, after })}`);
          if (res.body.includes(w.decision.other) || res.message.includes(w.decision.other))
            failures.push(`${op} [${r.name}]: leaked ${OTHER}'s decision id`);
        }
        // The callers it is open to get past auth (whatever the call itself answers); an
        // operator also when it names another tenant.
        const admitted = CALLERS.filter((c) => allowed(op, c)).map((c) => ({ c, tenant: "" }));
        if (allowed(op, "operator")) admitted.push({ c: "operator", tenant: OTHER });
        for (const { c, tenant } of admitted) {
          const { code } = await call(w.grpc, method, req, md(w.tokens[c], tenant));
          if (code === grpc.status.UNAUTHENTICATED || code === grpc.status.PERMISSION_DENIED)
            failures.push(`${op} [${c}${tenant && ` for ${tenant}`}]: refused (${grpc.status[code]})`);
        }
      }
    }
    expect(failures).toEqual([]);
  }, 240_000);

  const audit = (c: Caller, name: keyof typeof AuditService.method, req: object) =>
    call(w.grpc, AuditService.method[name], req, md(w.tokens[c]));

  it("QueryDecisions: an auditor sees its own tenant only; naming another is PermissionDenied on `tenant`; all_tenants sees both", async () => {
    const own = await audit("auditor", "queryDecisions", {});
    expect(own.code).toBe(grpc.status.OK);
    expect(own.body).toContain(w.decision.own);
    expect(own.body).not.toContain(w.decision.other);
    const other = await audit("auditor", "queryDecisions", { tenant: OTHER });
    expect(other.code).toBe(grpc.status.PERMISSION_DENIED);
    expect(other.message).toMatch(/^tenant: /);
    expect((await audit("auditor", "queryDecisions", { tenant: OWN })).body).toContain(w.decision.own);
    const all = await audit("auditorAll", "queryDecisions", {});
    expect(all.body).toContain(w.decision.own);
    expect(all.body).toContain(w.decision.other);
    const allOther = await audit("auditorAll", "queryDecisions", { tenant: OTHER });
    expect(allOther.body).toContain(w.decision.other);
    expect(allOther.body).not.toContain(w.decision.own);
  });

  it("QueryDecisions with the auditor's filters, records and count: inside the tenant wall (another tenant's key id finds nothing)", async () => {
    const q = (c: Caller, req: object) =>
      w.grpc.unary(AuditService, AuditService.method.queryDecisions, req as never, md(w.tokens[c]));
    const decode = (b: Uint8Array) => JSON.parse(Buffer.from(b).toString()) as DecisionRecord;
    // The other tenant's caller key id, as an all-tenant auditor reads it from its record.
    const theirs = await q("auditorAll", { tenant: OTHER, includeRecords: true });
    const otherKey = decode(theirs.decisions[0]!.decisionRecord);
    expect(otherKey.principal.tenant).toBe(OTHER);
    const keyId = otherKey.v === 2 ? otherKey.caller.key_id : "";
    expect(keyId).not.toBe("");
    const own = await q("auditor", { includeRecords: true, includeCount: true, inside: "EU" });
    expect(own.decisions.map((d) => d.decisionId)).toContain(w.decision.own);
    expect(own.decisions.map((d) => d.decisionId)).not.toContain(w.decision.other);
    expect(own.decisions.every((d) => decode(d.decisionRecord).principal.tenant === OWN)).toBe(true);
    expect(own.total).toBe(BigInt(own.decisions.length));
    const byTheirKey = await q("auditor", { keyId, includeRecords: true, includeCount: true });
    expect(byTheirKey.decisions).toEqual([]);
    expect(byTheirKey.total).toBe(0n);
    expect((await q("auditorAll", { keyId, includeCount: true })).total).toBe(1n);
  });

  it("GetUsage: a tenant's auditor and admin see its own tenant only (another, known or not, is PermissionDenied on `tenant`); an operator and an all-tenant auditor see every tenant", async () => {
    const usage = (c: Caller, tenant = "") =>
      call(
        w.grpc,
        UsageService.method.getUsage,
        { groupBy: UsageGroupBy.TENANT, startTime: { seconds: 0n }, tenant },
        md(w.tokens[c]),
      );
    for (const c of ["auditor", "admin"] as const) {
      const own = await usage(c);
      expect(own.code, c).toBe(grpc.status.OK);
      expect(own.body, c).toContain(`"group":"${OWN}"`);
      expect(own.body, c).not.toContain(`"group":"${OTHER}"`);
      for (const tenant of [OTHER, "no-such-tenant"]) {
        const other = await usage(c, tenant);
        expect(other.code, `${c} ${tenant}`).toBe(grpc.status.PERMISSION_DENIED);
        expect(other.message).toBe(`tenant: this key reads tenant ${OWN}'s usage only`);
      }
    }
    for (const c of ["auditorAll", "operator"] as const) {
      const all = await usage(c);
      expect(all.body, c).toContain(`"group":"${OWN}"`);
      expect(all.body, c).toContain(`"group":"${OTHER}"`);
      const other = await usage(c, OTHER);
      expect(other.body, c).toContain(`"group":"${OTHER}"`);
      expect(other.body, c).not.toContain(`"group":"${OWN}"`);
    }
  });

  it("WatchDecisions: an auditor's feed holds its own tenant only; naming another is PermissionDenied on `tenant`; all_tenants sees both", async () => {
    const own = await audit("auditor", "watchDecisions", { fromSeq: 0n });
    expect(own.code).toBe(grpc.status.OK);
    expect(own.body).toContain(w.decision.own);
    expect(own.body).not.toContain(w.decision.other);
    const other = await audit("auditor", "watchDecisions", { fromSeq: 0n, tenant: OTHER });
    expect(other.code).toBe(grpc.status.PERMISSION_DENIED);
    expect(other.message).toMatch(/^tenant: /);
    expect(other.body).not.toContain(w.decision.other);
    const all = await audit("auditorAll", "watchDecisions", { fromSeq: 0n });
    expect(all.body).toContain(w.decision.own);
    expect(all.body).toContain(w.decision.other);
  });

  it("PolicyImpact: an auditor replays its own tenant's decisions only; naming another, known or not, is PermissionDenied on `tenant`; all_tenants and the operator replay every tenant's", async () => {
    const impact = (c: Caller, tenant = "") =>
      audit(c, "policyImpact", { bundle: DRAFT, startTime: { seconds: 0n }, tenant });
    const own = await impact("auditor");
    expect(own.code).toBe(grpc.status.OK);
    expect(own.body).toContain(`"tenant":"${OWN}"`);
    expect(own.body).not.toContain(`"tenant":"${OTHER}"`);
    for (const tenant of [OTHER, "no-such-tenant"]) {
      const other = await impact("auditor", tenant);
      expect(other.code, tenant).toBe(grpc.status.PERMISSION_DENIED);
      expect(other.message).toBe(`tenant: this key replays tenant ${OWN}'s decisions only`);
      expect(other.body).not.toContain(OTHER);
    }
    for (const c of ["auditorAll", "operator"] as const) {
      const all = await impact(c);
      expect(all.code, c).toBe(grpc.status.OK);
      expect(all.body, c).toContain(`"tenant":"${OWN}"`);
      expect(all.body, c).toContain(`"tenant":"${OTHER}"`);
      const other = await impact(c, OTHER);
      expect(other.body, c).toContain(`"tenant":"${OTHER}"`);
      expect(other.body, c).not.toContain(`"tenant":"${OWN}"`);
    }
  });

  it("GetDecision, ReplayDecision and GetInclusionProof: another tenant's decision is NotFound exactly as an unknown id; all_tenants reads it", async () => {
    // GetDecision comes first: it signs the checkpoint GetInclusionProof then proves to.
    for (const name of ["getDecision", "replayDecision", "getInclusionProof"] as const) {
      const unknown = await audit("auditor", name, { decisionId: UNKNOWN_DECISION });
      const other = await audit("auditor", name, { decisionId: w.decision.other });
      expect(other.code, name).toBe(grpc.status.NOT_FOUND);
      expect(other.message.replace(w.decision.other, "ID")).toBe(
        unknown.message.replace(UNKNOWN_DECISION, "ID"),
      );
      expect(other.body).toBe("");
      expect((await audit("auditor", name, { decisionId: w.decision.own })).code, name).toBe(grpc.status.OK);
      const all = await audit("auditorAll", name, { decisionId: w.decision.other });
      expect(all.code, name).toBe(grpc.status.OK);
      expect(all.body).toContain(w.decision.other);
    }
  });

  it("QueryAdminRecords: an auditor sees its own tenant's admin records only; another tenant or the platform is PermissionDenied on `tenant`, another tenant's decision NotFound as an unknown id; all_tenants sees every tenant and the platform", async () => {
    const tenantsIn = (body: string) =>
      new Set((JSON.parse(body) as { records: { tenant: string }[] }).records.map((r) => r.tenant));
    const own = await audit("auditor", "queryAdminRecords", {});
    expect(own.code).toBe(grpc.status.OK);
    expect(own.body).toContain('"action":"byok.set"'); // the world set ta's BYOK key
    expect(tenantsIn(own.body)).toEqual(new Set([OWN]));
    for (const tenant of [OTHER, "_platform"]) {
      const refused = await audit("auditor", "queryAdminRecords", { tenant });
      expect(refused.code, tenant).toBe(grpc.status.PERMISSION_DENIED);
      expect(refused.message).toMatch(/^tenant: /);
    }
    const unknown = await audit("auditor", "queryAdminRecords", { beforeDecisionId: UNKNOWN_DECISION });
    const other = await audit("auditor", "queryAdminRecords", { beforeDecisionId: w.decision.other });
    expect(other.code).toBe(grpc.status.NOT_FOUND);
    expect(other.message.replace(w.decision.other, "ID")).toBe(
      unknown.message.replace(UNKNOWN_DECISION, "ID"),
    );
    expect(other.body).toBe("");
    const before = await audit("auditor", "queryAdminRecords", { beforeDecisionId: w.decision.own });
    expect(before.code).toBe(grpc.status.OK);
    expect(tenantsIn(before.body)).toEqual(new Set([OWN]));

    expect(tenantsIn((await audit("auditorAll", "queryAdminRecords", {})).body)).toEqual(
      new Set([OWN, OTHER, "_platform"]),
    );
    const allOther = await audit("auditorAll", "queryAdminRecords", { beforeDecisionId: w.decision.other });
    expect(allOther.code).toBe(grpc.status.OK);
    expect(tenantsIn(allOther.body)).toEqual(new Set([OTHER, "_platform"]));
  });

  it("checkpoints, consistency proofs and signing keys are log-wide: open to an auditor of any tenant", async () => {
    expect((await audit("auditor", "getCheckpoint", {})).code).toBe(grpc.status.OK);
    expect((await audit("auditor", "getConsistencyProof", { firstSize: 1n, secondSize: 2n })).code).toBe(
      grpc.status.OK,
    );
    expect((await audit("auditor", "listSigningKeys", {})).code).toBe(grpc.status.OK);
  });

  const keys = (c: Caller, name: keyof typeof KeyService.method, req: object) =>
    call(w.grpc, KeyService.method[name], req, md(w.tokens[c]));

  it("KeyService: a tenant admin manages its own tenant's keys only and grants neither operator nor all_tenants; an operator manages any", async () => {
    const refused: [object, RegExp][] = [
      [{ tenant: OTHER, roles: [Role.CLIENT] }, /^tenant: /],
      [{ tenant: OWN, roles: [Role.OPERATOR] }, /^roles\[0\]: /],
      [{ tenant: OWN, roles: [Role.AUDITOR], allTenants: true }, /^all_tenants: /],
    ];
    for (const [req, field] of refused) {
      const before = await snapshot(w.t);
      const res = await keys("admin", "createKey", req);
      expect(res.code).toBe(grpc.status.PERMISSION_DENIED);
      expect(res.message).toMatch(field);
      expect(await snapshot(w.t)).toEqual(before);
    }
    const own = await keys("admin", "createKey", { roles: [Role.CLIENT] });
    expect(own.code).toBe(grpc.status.OK);
    expect(own.body).toContain(`"tenant":"${OWN}"`);

    const listOwn = await keys("admin", "listKeys", {});
    expect(listOwn.body).toContain(w.spareKey.own);
    expect(listOwn.body).not.toContain(w.spareKey.other);
    expect(listOwn.body).not.toContain(`"tenant":"${OTHER}"`);
    const listOther = await keys("admin", "listKeys", { tenant: OTHER });
    expect(listOther.code).toBe(grpc.status.PERMISSION_DENIED);
    expect(listOther.message).toMatch(/^tenant: /);

    // Another tenant's key id answers as an unknown one, and stays active.
    const before = await snapshot(w.t);
    const unknown = await keys("admin", "revokeKey", { keyId: "0123456789ab" });
    const other = await keys("admin", "revokeKey", { keyId: w.spareKey.other });
    expect(other.code).toBe(grpc.status.NOT_FOUND);
    expect(other.message.replace(w.spareKey.other, "ID")).toBe(unknown.message.replace("0123456789ab", "ID"));
    expect(await snapshot(w.t)).toEqual(before);
    expect((await keys("admin", "revokeKey", { keyId: w.spareKey.own })).code).toBe(grpc.status.OK);

    // The operator: every tenant's keys, operator and all_tenants keys included.
    expect((await keys("operator", "listKeys", {})).body).toContain(w.spareKey.other);
    const op = await keys("operator", "createKey", { tenant: OTHER, roles: [Role.OPERATOR] });
    expect(op.code).toBe(grpc.status.OK);
    const all = await keys("operator", "createKey", {
      tenant: OTHER,
      roles: [Role.AUDITOR],
      allTenants: true,
    });
    expect(all.body).toContain('"allTenants":true');
    expect((await keys("operator", "revokeKey", { keyId: w.spareKey.other })).code).toBe(grpc.status.OK);
  });

  const budgets = (c: Caller, name: keyof typeof BudgetService.method, req: object, tenant?: string) =>
    call(w.grpc, BudgetService.method[name], req, md(w.tokens[c], tenant));

  it("BudgetService: a tenant admin manages its own tenant's budgets only; another tenant's key is NotFound exactly as an unknown one; an operator manages any", async () => {
    const day = BudgetPeriod.DAY;
    for (const [name, req] of [
      ["setBudget", { tenant: OTHER, period: day, tokens: 5n }],
      ["deleteBudget", { tenant: OTHER, period: day }],
      ["listBudgets", { tenant: OTHER }],
      ["listBudgets", { allTenants: true }],
    ] as const) {
      const before = await snapshot(w.t);
      const res = await budgets("admin", name, req);
      expect(res.code, name).toBe(grpc.status.PERMISSION_DENIED);
      expect(res.message).toMatch(/^(tenant|all_tenants): /);
      expect(await snapshot(w.t)).toEqual(before);
    }
    const before = await snapshot(w.t);
    const unknown = await budgets("admin", "setBudget", { keyId: "0123456789ab", period: day, tokens: 5n });
    const other = await budgets("admin", "setBudget", { keyId: w.spareKey.other, period: day, tokens: 5n });
    expect(other.code).toBe(grpc.status.NOT_FOUND);
    expect(other.message.replace(w.spareKey.other, "ID")).toBe(unknown.message.replace("0123456789ab", "ID"));
    expect(await snapshot(w.t)).toEqual(before);

    const own = await budgets("admin", "setBudget", {
      keyId: w.spareKey.own,
      period: day,
      tokens: 10n ** 9n,
    });
    expect(own.code).toBe(grpc.status.OK);
    expect(own.body).toContain(`"tenant":"${OWN}"`);
    const opSet = await budgets("operator", "setBudget", { tenant: OTHER, period: day, tokens: 10n ** 9n });
    expect(opSet.code).toBe(grpc.status.OK);
    const listOwn = await budgets("admin", "listBudgets", {});
    expect(listOwn.body).toContain(w.spareKey.own);
    expect(listOwn.body).not.toContain(`"tenant":"${OTHER}"`);
    expect((await budgets("operator", "listBudgets", { allTenants: true })).body).toContain(
      `"tenant":"${OTHER}"`,
    );
    expect((await budgets("admin", "deleteBudget", { keyId: w.spareKey.own, period: day })).body).toContain(
      '"deleted":true',
    );
    expect((await budgets("operator", "deleteBudget", { tenant: OTHER, period: day })).body).toContain(
      '"deleted":true',
    );
  });

  it("ApplyCatalog belongs to the operator: a tenant admin is refused and nothing changes", async () => {
    const req = requestFor(CatalogService.method.applyCatalog, w);
    const before = await snapshot(w.t);
    const res = await call(w.grpc, CatalogService.method.applyCatalog, req, md(w.tokens.admin));
    expect(res.code).toBe(grpc.status.PERMISSION_DENIED);
    expect(await snapshot(w.t)).toEqual(before);
    // Past auth, the operator's (invalid, validate-only) catalog reaches validation.
    const op = await call(w.grpc, CatalogService.method.applyCatalog, req, md(w.tokens.operator));
    expect(op.code).toBe(grpc.status.OK);
    expect(op.body).toContain('"valid":false');
  });

  it("makes the first-start development key an operator key with every role and all tenants", async () => {
    const devId = w.t.devKey!.split("_")[1]!;
    const row = await w.t.app.db.db
      .selectFrom("api_keys")
      .selectAll()
      .where("key_id", "=", devId)
      .executeTakeFirstOrThrow();
    expect(row).toMatchObject({
      tenant: "default",
      roles: "client,auditor,admin,operator",
      all_tenants: true,
    });
    const all = await call(w.grpc, AuditService.method.queryDecisions, { tenant: OTHER }, md(w.t.devKey));
    expect(all.body).toContain(w.decision.other);
  });

  it("routes a client's request as its own tenant", async () => {
    await w.t.app.audit.settled();
    const row = await w.t.app.db.db
      .selectFrom("audit_decisions")
      .select(["tenant"])
      .where("decision_id", "=", w.decision.own)
      .executeTakeFirstOrThrow();
    expect(row.tenant).toBe(OWN);
  });

  it("keeps keys as hashes only and records last use", async () => {
    const rows = await w.t.app.db.db.selectFrom("api_keys").selectAll().execute();
    const dump = JSON.stringify(
      rows.map((r) => ({ ...r, secret_hash: Buffer.from(r.secret_hash).toString("base64") })),
    );
    // The secret is base64url, which may itself contain "_": split the token as the server does.
    for (const token of Object.values(w.tokens)) expect(dump).not.toContain(parseApiKey(token)!.secret);
    expect(rows.find((r) => r.key_id === w.keyIds.client)?.last_used_at).not.toBeNull();
  });
});
