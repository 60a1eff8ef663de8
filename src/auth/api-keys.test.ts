import { type KyselyPlugin, type RootOperationNode, sql } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { failingReads } from "../../test/support/failing-reads.js";
import { type DatabaseHandle, openDatabase } from "../db/index.js";
import { Authenticator, createApiKey, revokeApiKey } from "./api-keys.js";

/** Counts the queries kysely sends to the (real, in-memory PGlite) database, by kind. */
class QueryCounter implements KyselyPlugin {
  readonly kinds: string[] = [];
  transformQuery({ node }: { node: RootOperationNode }): RootOperationNode {
    this.kinds.push(node.kind);
    return node;
  }
  async transformResult<T>({ result }: { result: T }): Promise<T> {
    return result;
  }
  take(): string[] {
    return this.kinds.splice(0);
  }
}

describe("Authenticator", () => {
  let h: DatabaseHandle;
  const counter = new QueryCounter();
  let clock = 1_000_000;
  const TTL = 60_000;
  let auth: Authenticator;
  let good: { keyId: string; token: string };
  let closed = false;

  beforeAll(async () => {
    h = await openDatabase({ dataDir: "memory://" });
    const created = await createApiKey(h.db, { tenant: "acme", roles: ["client"] });
    good = { keyId: created.key.keyId, token: created.token };
    auth = new Authenticator(h.db.withPlugin(counter), TTL, () => clock);
    await auth.start();
  });
  afterAll(async () => {
    auth?.stop();
    if (!closed) await h?.close();
  });

  it("makes no database query on the request path, for an unknown id as for a known one", async () => {
    counter.take();
    const unknown = `sovr_${"0".repeat(12)}_${"A".repeat(43)}`;
    const wrongSecret = `sovr_${good.keyId}_${"B".repeat(43)}`;
    expect(await auth.authenticate(unknown)).toBeUndefined();
    expect(await auth.authenticate(wrongSecret)).toBeUndefined();
    expect(counter.take()).toEqual([]);
    // A valid key: the only query is the background `last_used_at` write, never a lookup.
    expect((await auth.authenticate(good.token))?.tenant).toBe("acme");
    expect(counter.take()).toEqual(["UpdateQueryNode"]);
  });

  it("takes a revocation within the TTL: a stale table is re-read once, whatever the id", async () => {
    await revokeApiKey(h.db, good.keyId);
    counter.take();
    // Within the TTL the table in memory still holds the key.
    clock += TTL / 2;
    expect(await auth.authenticate(good.token)).toBeDefined();
    expect(counter.take()).toEqual([]);
    // Past it, the next check (here for an unknown id) re-reads the whole table: one select,
    // the same for every token, and the revocation holds from then on.
    clock += TTL;
    expect(await auth.authenticate(`sovr_${"1".repeat(12)}_${"A".repeat(43)}`)).toBeUndefined();
    expect(counter.take()).toEqual(["SelectQueryNode"]);
    expect(await auth.authenticate(good.token)).toBeUndefined();
    expect(counter.take()).toEqual([]);
  });

  it("refresh() after a change reads after it, also when a read that began before it is in flight", async () => {
    // PGlite's one connection serves queries in the order they ask for it. A transaction holds
    // it while a read (queued first) and the insert (queued second) wait; the second refresh()
    // is asked for while that read is still in flight.
    const settle = () => new Promise((r) => setImmediate(r));
    const queued = await h.db.transaction().execute(async () => {
      const inFlight = auth.refresh();
      await settle();
      const creating = createApiKey(h.db, { tenant: "acme", roles: ["client"] });
      await settle();
      return { inFlight, creating, after: auth.refresh() };
    });
    const later = await queued.creating;
    await Promise.all([queued.inFlight, queued.after]);
    expect(await auth.authenticate(later.token)).toMatchObject({ keyId: later.key.keyId });
  });

  it("refuses a key at its expiry by the clock of the check, between re-reads of the table", async () => {
    const expiresAt = new Date(clock + 10_000);
    const expiring = await createApiKey(h.db, {
      tenant: "acme",
      roles: ["client"],
      expiresAt,
      label: "ci",
      scope: { models: ["openai/*"], providers: ["openai"] },
      now: new Date(clock),
    });
    await auth.refresh();
    expect(await auth.verify(expiring.token)).toMatchObject({
      key: { label: "ci", expiresAt, scope: { models: ["openai/*"], providers: ["openai"] } },
    });
    counter.take();
    clock += 10_000;
    // No re-read happened (the TTL is a minute), yet the key is now refused, as expired.
    expect(await auth.verify(expiring.token)).toEqual({ refused: "expired" });
    expect(await auth.authenticate(expiring.token)).toBeUndefined();
    expect(counter.take()).toEqual([]);
    // A wrong secret for that id is just invalid: "expired" is said only to the key's holder.
    expect(await auth.verify(`sovr_${expiring.key.keyId}_${"B".repeat(43)}`)).toEqual({ refused: "invalid" });
    await expect(
      createApiKey(h.db, {
        tenant: "acme",
        roles: ["client"],
        expiresAt: new Date(clock - 1),
        now: new Date(clock),
      }),
    ).rejects.toThrow("expires_at: must be in the future");
  });

  it("refuses all_tenants on a key without the auditor role", async () => {
    await expect(createApiKey(h.db, { tenant: "acme", roles: ["client"], allTenants: true })).rejects.toThrow(
      /all_tenants/,
    );
  });

  it("fails a check as unavailable within its bound when the table cannot be re-read in time (a wedged database)", async () => {
    const wedged = await openDatabase({ dataDir: "memory://" });
    try {
      const key = await createApiKey(wedged.db, { tenant: "acme", roles: ["client"] });
      let now = 0;
      const bounded = new Authenticator(wedged.db, 1000, () => now, 200);
      await bounded.start();
      bounded.stop();
      expect(await bounded.authenticate(key.token)).toMatchObject({ tenant: "acme" });
      // PGlite has one connection: a long statement holds every later read behind it.
      const sleeping = sql`select pg_sleep(3)`.execute(wedged.db).catch(() => {});
      now += 5000;
      // Unbounded, the check would wait out the statement and then succeed.
      await expect(bounded.authenticate(key.token)).rejects.toThrow("API key table: no answer within 200 ms");
      await sleeping;
    } finally {
      await wedged.close();
    }
  });

  it("knows a key created elsewhere after refresh(), and fails closed when the table cannot be read", async () => {
    const other = await createApiKey(h.db, { tenant: "globex", roles: ["auditor"], allTenants: true });
    expect(await auth.authenticate(other.token)).toBeUndefined();
    await auth.refresh();
    expect(await auth.authenticate(other.token)).toMatchObject({ tenant: "globex", allTenants: true });
    // The database goes away: once the table is stale, every check fails instead of trusting it.
    await h.close();
    closed = true;
    clock += 2 * TTL;
    await expect(auth.authenticate(other.token)).rejects.toThrow();
  });
});

describe("Authenticator whose key table cannot be read again", () => {
  let h: DatabaseHandle;
  const reads = failingReads();
  beforeAll(async () => {
    h = await openDatabase({ dataDir: "memory://" });
  });
  afterAll(async () => {
    reads.failing = false;
    await h?.close();
  });

  it("answers a key change made here as done, reports the failed re-read and still tells the relay", async () => {
    const auth = new Authenticator(h.db.withPlugin(reads.plugin), 60_000);
    await auth.start();
    const reported: string[] = [];
    auth.reportReadFailures((err, when) => reported.push(`${when}: ${(err as Error).message}`));
    let relayed = 0;
    auth.setRelay(async () => {
      relayed++;
    });
    try {
      const created = await createApiKey(h.db, { tenant: "acme", roles: ["client"] });
      reads.failing = true;
      // Stored: the change's call must not fail (its caller would lose the secret).
      await expect(auth.keysChanged()).resolves.toBeUndefined();
      expect(reported).toEqual(["change: connection lost"]);
      expect(relayed).toBe(1);
      expect(await auth.authenticate(created.token)).toBeUndefined();
      // The next read takes it.
      reads.failing = false;
      await auth.refresh();
      expect((await auth.authenticate(created.token))?.tenant).toBe("acme");
    } finally {
      reads.failing = false;
      auth.stop();
    }
  });

  it("reports a failed background re-read", async () => {
    const auth = new Authenticator(h.db.withPlugin(reads.plugin), 40);
    await auth.start();
    const reported: string[] = [];
    auth.reportReadFailures((err, when) => reported.push(`${when}: ${(err as Error).message}`));
    try {
      reads.failing = true;
      await expect.poll(() => reported[0], { timeout: 5_000 }).toBe("interval: connection lost");
    } finally {
      reads.failing = false;
      auth.stop();
    }
  });
});
