/**
 * The admin trail's two remaining actions (docs/audit.md §1.2): a budget set or deleted through
 * BudgetService is an admin record of its tenant, written before the change (a log that
 * refuses the record leaves the budget as it was); a key whose expiry has passed gets one
 * `key.expire` record from the router's sweep, once, even when several sweeps run.
 */
import { createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { sql } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { AdminRecord } from "../../src/audit/record.js";
import { createApiKey, parseApiKey } from "../../src/auth/api-keys.js";
import { BudgetPeriod, BudgetService } from "../../src/gen/sovereign/v1/budget_pb.js";
import { appDatabases, startTestApp, type TestApp } from "../support/app.js";

describe.each(appDatabases)("admin records of budgets and key expiry (%s)", (database) => {
  let t: TestApp;
  let adminToken: string;

  const budgets = () =>
    createClient(
      BudgetService,
      createConnectTransport({
        baseUrl: t.app.httpUrl,
        httpVersion: "1.1",
        interceptors: [
          (next) => (req) => {
            req.header.set("authorization", `Bearer ${adminToken}`);
            return next(req);
          },
        ],
      }),
    );

  /** The tenant's admin records, decoded from the log as signed. */
  async function adminRecords(tenant: string): Promise<AdminRecord[]> {
    await t.app.audit.drain();
    const rows = await t.app.db.db.selectFrom("audit_log").select(["envelope"]).orderBy("seq").execute();
    return rows
      .map((r) => JSON.parse(Buffer.from(JSON.parse(r.envelope).payload, "base64").toString("utf8")))
      .filter((rec) => rec.kind === "admin" && rec.tenant === tenant) as AdminRecord[];
  }

  beforeAll(async () => {
    t = await startTestApp({ database, auth: true });
    adminToken = (await createApiKey(t.app.db.db, { tenant: "ta", roles: ["admin"] })).token;
    await t.app.auth.refresh();
  });
  afterAll(async () => {
    await t?.close();
  });

  it("a budget set, changed and deleted is recorded in its tenant with its limits before and after", async () => {
    const adminKeyId = parseApiKey(adminToken)!.keyId;
    await budgets().setBudget({ tenant: "ta", period: BudgetPeriod.DAY, usdMicros: 12_500_000n });
    await budgets().setBudget({ tenant: "ta", period: BudgetPeriod.DAY, tokens: 2000n });
    await budgets().deleteBudget({ tenant: "ta", period: BudgetPeriod.DAY });
    await budgets().deleteBudget({ tenant: "ta", period: BudgetPeriod.DAY }); // none left: no record
    const records = (await adminRecords("ta")).filter((r) => r.action.startsWith("budget."));
    expect(records.map((r) => [r.action, r.target, r.revision])).toEqual([
      ["budget.set", { budget_id: "ta/*/day" }, { before: null, after: "usd_micros=12500000 tokens=none" }],
      [
        "budget.set",
        { budget_id: "ta/*/day" },
        { before: "usd_micros=12500000 tokens=none", after: "usd_micros=12500000 tokens=2000" },
      ],
      [
        "budget.delete",
        { budget_id: "ta/*/day" },
        { before: "usd_micros=12500000 tokens=2000", after: "none" },
      ],
    ]);
    for (const r of records) expect(r.caller).toMatchObject({ kind: "api_key", key_id: adminKeyId });
  });

  it("a budget change the log cannot record is refused and leaves the budget as it was", async () => {
    await budgets().setBudget({ tenant: "ta", period: BudgetPeriod.MONTH, tokens: 100n });
    const refuse = sql`create or replace function sovr_test_refuse() returns trigger language plpgsql as $$ begin raise exception 'log refuses'; end $$`;
    await refuse.execute(t.app.db.db);
    await sql`create trigger sovr_test_refuse before insert on audit_log for each row execute function sovr_test_refuse()`.execute(
      t.app.db.db,
    );
    try {
      await expect(
        budgets().setBudget({ tenant: "ta", period: BudgetPeriod.MONTH, tokens: 999n }),
      ).rejects.toThrow();
      await expect(budgets().deleteBudget({ tenant: "ta", period: BudgetPeriod.MONTH })).rejects.toThrow();
    } finally {
      await sql`drop trigger sovr_test_refuse on audit_log`.execute(t.app.db.db);
    }
    const left = await t.app.db.db.selectFrom("budgets").selectAll().where("tenant", "=", "ta").execute();
    expect(left.map((b) => [b.period, Number(b.tokens)])).toEqual([["month", 100]]);
  });

  it("an expired key gets one key.expire record from the router, however many sweeps run", async () => {
    const keyId = (await createApiKey(t.app.db.db, { tenant: "tb", roles: ["client"] })).key.keyId;
    const live = await createApiKey(t.app.db.db, {
      tenant: "tb",
      roles: ["client"],
      expiresAt: new Date(Date.now() + 3_600_000),
    });
    await t.app.db.db
      .updateTable("api_keys")
      .set({ expires_at: new Date(Date.now() - 1000) })
      .where("key_id", "=", keyId)
      .execute();
    expect(await t.app.keyExpiries.sweep()).toBe(1);
    expect(await t.app.keyExpiries.sweep()).toBe(0);
    const expired = (await adminRecords("tb")).filter((r) => r.action === "key.expire");
    expect(expired.map((r) => [r.target, r.caller.kind])).toEqual([[{ key_id: keyId }, "system"]]);
    expect(expired.some((r) => r.target.key_id === live.key.keyId)).toBe(false);
  });
});
