import { afterEach, describe, expect, it } from "vitest";
import { type TestDatabaseHandle, testDatabases } from "../../../test/support/databases.js";
import { LeasedWindows } from "./leased-windows.js";

const DAY = 86_400_000;

describe.each(testDatabases)("LeasedWindows ($name)", (tdb) => {
  let h: TestDatabaseHandle | undefined;
  afterEach(async () => {
    await h?.close();
    h = undefined;
  });

  it("two replicas taking at once: never more than the limit, short of it by at most replicas × (lease − 1)", async () => {
    h = await tdb.open();
    const limit = 100;
    const replicas = [0, 1].map(() => new LeasedWindows(h!.db, { windowMs: DAY, leasePercent: 7 }));
    const results = await Promise.all(
      Array.from({ length: 300 }, (_, i) => replicas[i % 2]!.take("rk:key", limit, 1)),
    );
    const taken = results.filter((r) => r === undefined).length;
    expect(taken).toBeLessThanOrEqual(limit);
    expect(taken).toBeGreaterThanOrEqual(limit - 2 * (7 - 1));
    // A refusal says how long until the window ends.
    const wait = results.find((r) => r !== undefined)!;
    expect(wait).toBeGreaterThan(0);
    expect(wait).toBeLessThanOrEqual(DAY);
    const row = await h.db.selectFrom("rate_limit_windows").select("used").executeTakeFirstOrThrow();
    expect(Number(row.used)).toBe(limit);
  });

  it("leases what is left when a full lease would pass the limit; amounts above it are refused; adjustments stay local", async () => {
    h = await tdb.open();
    const a = new LeasedWindows(h.db, { windowMs: DAY, leasePercent: 50 });
    const b = new LeasedWindows(h.db, { windowMs: DAY, leasePercent: 50 });
    expect(await a.take("tt:t", 1000, 700)).toBeUndefined(); // leases 700 (> 50 %)
    expect(await b.take("tt:t", 1000, 200)).toBeUndefined(); // a 500 lease would pass 1000: takes the 300 left
    expect(await a.take("tt:t", 1000, 200)).toBeGreaterThan(0); // nothing left to lease
    b.adjust("tt:t", 150); // b's call used 50 of its 200: b may spend 250 more
    expect(await b.take("tt:t", 1000, 250)).toBeUndefined();
    expect(await b.take("tt:t", 1000, 1)).toBeGreaterThan(0);
    const row = await h.db.selectFrom("rate_limit_windows").select("used").executeTakeFirstOrThrow();
    expect(Number(row.used)).toBe(1000);
  });

  it("a new window starts from zero; rows of windows before the last are deleted", async () => {
    h = await tdb.open();
    await h.db
      .insertInto("rate_limit_windows")
      .values({ subject: "rk:old", window_start: 1, used: 5 })
      .execute();
    const w = new LeasedWindows(h.db, { windowMs: 1000, leasePercent: 100 });
    expect(await w.take("rk:k", 3, 1)).toBeUndefined();
    const rows = await h.db.selectFrom("rate_limit_windows").select("subject").execute();
    // The delete runs after the lease, in the background; wait for it by asking again.
    for (let i = 0; i < 50 && rows.length > 1; i++)
      rows.splice(
        0,
        rows.length,
        ...(await h.db.selectFrom("rate_limit_windows").select("subject").execute()),
      );
    expect(rows.map((r) => r.subject)).toEqual(["rk:k"]);
  });
});
