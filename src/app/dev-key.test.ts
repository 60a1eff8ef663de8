import { afterAll, describe, expect, it } from "vitest";
import { testDatabases } from "../../test/support/databases.js";
import { Authenticator } from "../auth/index.js";
import { createDevKeyOnFirstStart } from "./dev-key.js";

describe.each(testDatabases)("the development key on first start (%s)", (database) => {
  const cleanup: (() => Promise<unknown>)[] = [];
  afterAll(async () => {
    for (const c of cleanup.reverse()) await c().catch(() => {});
  });

  it("is created once when several starts race on one fresh database, and works", async () => {
    const h = await database.open();
    cleanup.push(() => h.close());
    const announced: string[] = [];
    // Six starts at once: each counts the keys and creates one if there is none.
    await Promise.all(Array.from({ length: 6 }, () => createDevKeyOnFirstStart(h, (t) => announced.push(t))));
    expect(announced).toHaveLength(1);
    const rows = await h.db.selectFrom("api_keys").select(["tenant", "all_tenants", "roles"]).execute();
    expect(rows).toEqual([{ tenant: "default", all_tenants: true, roles: "client,auditor,admin,operator" }]);
    const auth = new Authenticator(h.db);
    await auth.start();
    cleanup.push(async () => auth.stop());
    expect((await auth.authenticate(announced[0]!))?.tenant).toBe("default");

    // A later start finds it and announces nothing.
    await createDevKeyOnFirstStart(h, (t) => announced.push(t));
    expect(announced).toHaveLength(1);
  });
});
