import type { KyselyPlugin, PluginTransformResultArgs, QueryResult, UnknownRow } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type TestDatabaseHandle, testDatabases } from "../../test/support/databases.js";
import { failingReads } from "../../test/support/failing-reads.js";
import { BudgetStore } from "./budget-store.js";

/**
 * Holds the result of the first query run through it until `release`: the query itself has run
 * (`held` resolves then), its answer lands late.
 */
function holdFirstResult() {
  let release!: () => void;
  let reached!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  const held = new Promise<void>((r) => (reached = r));
  let first = true;
  const plugin: KyselyPlugin = {
    transformQuery: (args) => args.node,
    async transformResult(args: PluginTransformResultArgs): Promise<QueryResult<UnknownRow>> {
      if (first) {
        first = false;
        reached();
        await gate;
      }
      return args.result;
    },
  };
  return { plugin, held, release };
}

describe.each(testDatabases)("which tenants have budgets ($name)", (target) => {
  let h: TestDatabaseHandle;
  beforeAll(async () => {
    h = await target.open();
  });
  afterAll(async () => {
    await h?.close();
  });

  // Two reads can land out of order only on a pool (PGlite has one connection, which the held
  // answer would keep from the change).
  it.skipIf(target.name === "pglite")(
    "a read that began before a change never lands after the read that follows it",
    async () => {
      const { plugin, held, release } = holdFirstResult();
      const store = new BudgetStore(h.db.withPlugin(plugin));
      // The first read has run (no budgets yet); its answer is held back.
      const early = store.refresh();
      await held;
      await h.db
        .insertInto("budgets")
        .values({ tenant: "late", key_id: "", period: "day", tokens: 5 })
        .execute();
      const after = store.refresh();
      // Give the second read time to land first, were it not to wait (it waits: a bounded wait).
      await Promise.race([after, new Promise((r) => setTimeout(r, 500))]);
      release();
      await Promise.all([early, after]);
      expect(store.applies("late")).toBe(true);
    },
  );

  it("tells its relay after a set or delete through it, once its own set of tenants says so", async () => {
    const store = new BudgetStore(h.db);
    const told: boolean[] = [];
    store.setRelay(async () => {
      told.push(store.applies("relayed"));
    });
    await store.set({ tenant: "relayed", keyId: "", period: "month", usdMicros: 1_000 });
    expect(told).toEqual([true]);
    await store.delete({ tenant: "relayed", keyId: "", period: "month" });
    expect(told).toEqual([true, false]);
    // Deleting what is not there changes nothing and tells nobody.
    await store.delete({ tenant: "relayed", keyId: "", period: "month" });
    expect(told).toEqual([true, false]);
  });

  it("answers a change made here as done when its own re-read fails: reported, the relay still told, the next read takes it", async () => {
    const reads = failingReads();
    const store = new BudgetStore(h.db.withPlugin(reads.plugin));
    const reported: string[] = [];
    store.reportReadFailures((err, when) => reported.push(`${when}: ${(err as Error).message}`));
    let relayed = 0;
    store.setRelay(async () => {
      relayed++;
    });
    // Reads fail from the write on (its own read of the budget before came first).
    await store.set({ tenant: "unread", keyId: "", period: "day", tokens: 3 }, async () => {
      reads.failing = true;
    });
    expect(reported).toEqual(["change: connection lost"]);
    expect(relayed).toBe(1);
    expect(store.applies("unread")).toBe(false);
    reads.failing = false;
    await store.refresh();
    expect(store.applies("unread")).toBe(true);

    // The background re-read's failures are reported too.
    const background = new BudgetStore(h.db.withPlugin(reads.plugin), 20);
    background.reportReadFailures((err, when) => reported.push(`${when}: ${(err as Error).message}`));
    await background.start();
    try {
      reads.failing = true;
      await expect.poll(() => reported.at(-1), { timeout: 5_000 }).toBe("interval: connection lost");
    } finally {
      reads.failing = false;
      background.close();
    }
  });

  it("a relay that fails fails the change's call (the change itself is stored)", async () => {
    const store = new BudgetStore(h.db);
    store.setRelay(() => Promise.reject(new Error("not made in every worker: worker 2: gone")));
    await expect(store.set({ tenant: "stored", keyId: "", period: "day", tokens: 9 })).rejects.toThrow(
      /not made in every worker/,
    );
    expect((await store.list("stored")).map((b) => b.tokens)).toEqual([9]);
  });
});
