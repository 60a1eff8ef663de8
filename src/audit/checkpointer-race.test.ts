/**
 * The checkpointer's tree against its own commits arriving late (replicas on one Postgres).
 *
 * A row this process committed can be read back by the checkpointer's catch-up before the
 * commit's reply reaches the log's listeners (two connections: the reply and the read race).
 * The catch-up then takes it for another replica's row and, before appending it, reads the
 * published keys to check its signature; the commit's notification can land during that read
 * and append the same row first. The tree must still hold each row once: a duplicated leaf
 * made the next checkpoint vouch for a log that does not exist (`sovr audit verify`: "Merkle
 * root does not match records"), seen in CI with two replicas under load.
 *
 * The race is made deterministic with two Kysely plugins that hold a query's result until
 * released: the log's committed append on one handle, the key read on the checkpointer's.
 */
import type { KyselyPlugin, PluginTransformResultArgs, QueryResult, UnknownRow } from "kysely";
import { afterAll, describe, expect, it } from "vitest";
import { createFreshDatabase, dropDatabase } from "../../test/support/databases.js";
import { type DatabaseHandle, openDatabase } from "../db/index.js";
import { AuditLog } from "./audit-log.js";
import { latestCheckpoint, readLeafHashes } from "./audit-store.js";
import { Checkpointer } from "./checkpointer.js";
import { sampleDecisionAppend } from "./fixtures/records.js";
import { generateSigningKey } from "./keys.js";
import { equalBytes, MerkleTree } from "./merkle.js";
import { publishSigningKey } from "./signing-keys.js";

/** Holds the first result `match` picks once armed, until released. */
class Gate implements KyselyPlugin {
  #armed: ((r: QueryResult<UnknownRow>) => boolean) | undefined;
  #release: (() => void) | undefined;
  #holding: (() => void) | undefined;
  /** Resolves when a result is being held. */
  holding!: Promise<void>;

  arm(match: (r: QueryResult<UnknownRow>) => boolean): void {
    this.#armed = match;
    this.holding = new Promise((r) => {
      this.#holding = r;
    });
  }

  release(): void {
    this.#release?.();
  }

  transformQuery<T>(args: { node: T }): T {
    return args.node;
  }

  async transformResult(args: PluginTransformResultArgs): Promise<QueryResult<UnknownRow>> {
    const match = this.#armed;
    if (match?.(args.result)) {
      this.#armed = undefined;
      await new Promise<void>((r) => {
        this.#release = r;
        this.#holding?.();
      });
    }
    return args.result;
  }
}

describe.skipIf(!process.env.DATABASE_URL)("checkpointer and a late commit notification (Postgres)", () => {
  const cleanup: (() => Promise<unknown>)[] = [];
  afterAll(async () => {
    for (const c of cleanup.reverse()) await c().catch(() => {});
  });

  it("holds each row once when its own commit is reported while the catch-up checks it", async () => {
    const base = process.env.DATABASE_URL!;
    const url = await createFreshDatabase(base);
    cleanup.push(() => dropDatabase(base, url));
    const h: DatabaseHandle = await openDatabase({ databaseUrl: url, poolSize: 4 });
    cleanup.push(() => h.close());
    const key = generateSigningKey();
    await publishSigningKey(h.db, key);

    const commits = new Gate();
    const keyReads = new Gate();
    const audit = new AuditLog(h.db.withPlugin(commits), "postgres", key, { batchDelayMs: 0, batchMax: 16 });
    await audit.append(sampleDecisionAppend("acme"));
    const cp = new Checkpointer(h.db.withPlugin(keyReads), "postgres", audit, key, {
      origin: "test.example/race",
      every: 1_000_000,
      intervalMs: 3_600_000,
    });
    await cp.start();
    expect(cp.size).toBe(1);

    // 1. A record commits, but the reply (and so the log's listeners) is held back. Without
    //    budget work a Postgres batch is one statement that takes the sequencer lock and
    //    commits on its own (sovr_audit_append_locked): its result arrives once committed.
    commits.arm((r) => r.rows[0] !== undefined && "heads" in r.rows[0]);
    const appended = audit.append(sampleDecisionAppend("acme"));
    await commits.holding;
    // 2. The checkpointer's catch-up reads the committed row, takes it for another replica's
    //    and stops at the published keys, held back too.
    keyReads.arm((r) => r.rows[0] !== undefined && "public_key" in r.rows[0]);
    const checkpoint = cp.checkpoint();
    await keyReads.holding;
    // 3. The commit's reply arrives: its listeners hand the row to the checkpointer.
    commits.release();
    expect((await appended).seq).toBe(1);
    // 4. The key read completes and the catch-up goes on with the row it held.
    keyReads.release();
    const signed = await checkpoint;

    const leaves: Uint8Array[] = [];
    for await (const { leafHash } of readLeafHashes(h.db, 0, 10)) leaves.push(leafHash);
    expect(leaves).toHaveLength(2);
    expect(cp.size).toBe(2);
    expect(cp.fault).toBeUndefined();
    const stored = await latestCheckpoint(h.db, 0);
    expect(stored?.size).toBe(2);
    expect(signed?.size).toBe(2);
    expect(equalBytes(stored!.rootHash, MerkleTree.fromLeafHashes(leaves).root())).toBe(true);
  });
});
