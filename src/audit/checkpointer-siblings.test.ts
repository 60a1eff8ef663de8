/**
 * The checkpointer with sibling workers (`SOVR_WORKERS`): two log writers of one server on one
 * Postgres, each handing its committed leaves to the other's checkpointer. The tree then takes
 * a sibling's leaves as its own — none of its rows is read back and verified — and signs the
 * same root the database's rows give. A checkpointer told nothing reads and verifies them.
 */
import type { KyselyPlugin, PluginTransformResultArgs, QueryResult, UnknownRow } from "kysely";
import { afterAll, describe, expect, it } from "vitest";
import { createFreshDatabase, dropDatabase } from "../../test/support/databases.js";
import { openDatabase } from "../db/index.js";
import { AuditLog } from "./audit-log.js";
import { latestCheckpoint, readLeafHashes } from "./audit-store.js";
import { Checkpointer } from "./checkpointer.js";
import { sampleDecisionAppend } from "./fixtures/records.js";
import { generateSigningKey } from "./keys.js";
import { equalBytes, MerkleTree } from "./merkle.js";
import { publishSigningKey } from "./signing-keys.js";

/** Counts the log rows (with their envelopes) read back through the handle it is plugged into. */
class EnvelopeReads implements KyselyPlugin {
  rows = 0;
  transformQuery<T>(args: { node: T }): T {
    return args.node;
  }
  async transformResult(args: PluginTransformResultArgs): Promise<QueryResult<UnknownRow>> {
    for (const r of args.result.rows) if ("envelope" in r) this.rows++;
    return args.result;
  }
}

describe.skipIf(!process.env.DATABASE_URL)("checkpointer with a sibling worker's leaves (Postgres)", () => {
  const cleanup: (() => Promise<unknown>)[] = [];
  afterAll(async () => {
    for (const c of cleanup.reverse()) await c().catch(() => {});
  });
  /** A fresh database with a published signing key. */
  const freshLog = async () => {
    const base = process.env.DATABASE_URL!;
    const url = await createFreshDatabase(base);
    cleanup.push(() => dropDatabase(base, url));
    const h = await openDatabase({ databaseUrl: url, poolSize: 6 });
    cleanup.push(() => h.close());
    const key = generateSigningKey();
    await publishSigningKey(h.db, key);
    return { h, key };
  };

  it("takes a sibling's leaves without reading its rows back, and signs the rows' root", async () => {
    const { h, key } = await freshLog();
    const opts = { batchDelayMs: 0, batchMax: 16 };
    const a = new AuditLog(h.db, "postgres", key, opts);
    const b = new AuditLog(h.db, "postgres", key, opts);
    const cpOpts = { every: 1_000_000, intervalMs: 3_600_000, gapWaitMs: 200 };
    const siblingReads = new EnvelopeReads();
    const told = new Checkpointer(h.db.withPlugin(siblingReads), "postgres", b, key, {
      ...cpOpts,
      origin: "test.example/siblings",
    });
    const otherReads = new EnvelopeReads();
    // The same writer's checkpointer, told nothing of A: A is a replica elsewhere to it.
    const untold = new Checkpointer(h.db.withPlugin(otherReads), "postgres", b, key, {
      ...cpOpts,
      origin: "test.example/siblings",
    });
    await told.start();
    await untold.start();
    a.onCommitted((entries) => told.siblingCommitted(entries));

    // Interleaved writers on one tenant and on two (each batch moves the other's heads).
    for (let round = 0; round < 3; round++) {
      await Promise.all([0, 1, 2].map((i) => a.append(sampleDecisionAppend(i % 2 ? "acme" : "beta"))));
      await Promise.all([0, 1, 2].map(() => b.append(sampleDecisionAppend("acme"))));
    }
    const signed = await told.checkpoint();
    await untold.checkpoint();

    const leaves: Uint8Array[] = [];
    for await (const { leafHash } of readLeafHashes(h.db, 0, 100)) leaves.push(leafHash);
    expect(leaves).toHaveLength(18);
    expect(told.size).toBe(18);
    expect(untold.size).toBe(18);
    expect(told.fault).toBeUndefined();
    expect(signed?.size).toBe(18);
    const stored = await latestCheckpoint(h.db, 0);
    expect(equalBytes(stored!.rootHash, MerkleTree.fromLeafHashes(leaves).root())).toBe(true);
    // Told: no row read back. Untold: A's nine rows, read and verified.
    expect(siblingReads.rows).toBe(0);
    expect(otherReads.rows).toBeGreaterThanOrEqual(9);
  });

  it("faults when a sibling reports a leaf the stored row does not have", async () => {
    const { h, key } = await freshLog();
    const a = new AuditLog(h.db, "postgres", key, { batchDelayMs: 0, batchMax: 16 });
    const cp = new Checkpointer(h.db, "postgres", a, key, {
      origin: "test.example/siblings",
      every: 1_000_000,
      intervalMs: 3_600_000,
    });
    await cp.start();
    const { seq } = await a.append(sampleDecisionAppend("acme"));
    expect(cp.size).toBe(seq + 1);
    cp.siblingCommitted([{ seq, leafHash: new Uint8Array(32).fill(7) }]);
    expect(cp.fault?.message).toMatch(/issued again|reissued|fork/i);
  });
});
