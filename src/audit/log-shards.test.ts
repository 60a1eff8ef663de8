/**
 * Log shards (docs/audit.md §10): a record's shard is a function of its tenant only, and each
 * shard is its own dense log — sequence, tenant_seq, Merkle tree and checkpoints — also with two
 * writers (replicas) appending to both shards of one database at once.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type TestDatabaseHandle, testDatabases } from "../../test/support/databases.js";
import { openDatabase } from "../db/index.js";
import { AuditLog } from "./audit-log.js";
import { checkpointsUpTo, readEntries } from "./audit-store.js";
import { parseCheckpoint } from "./checkpoint.js";
import { Checkpointer } from "./checkpointer.js";
import { envelopePayload } from "./dsse.js";
import { sampleDecisionAppend } from "./fixtures/records.js";
import { generateSigningKey } from "./keys.js";
import { ensureLogLayout, LogLayoutError } from "./log-layout.js";
import { parseShardMap, type ShardLayout, sequencerLockKey, shardOf, shardOrigin } from "./log-shards.js";
import { MerkleTree } from "./merkle.js";
import { decodeRecord, PLATFORM_TENANT } from "./record.js";
import { publishSigningKey } from "./signing-keys.js";

const TWO: ShardLayout = { shards: 2, map: new Map() };

describe("shard assignment", () => {
  it("is a function of the tenant only: the same shard on every replica and after restarts", () => {
    // Fixed values: a change of the hash would move tenants between the shards of existing logs.
    expect(["t0", "t1", "t2", "t3", "t4"].map((t) => shardOf(TWO, t))).toEqual([1, 1, 1, 0, 0]);
    expect(["t0", "t2", "t3", "t4"].map((t) => shardOf({ shards: 4, map: new Map() }, t))).toEqual([
      1, 3, 0, 2,
    ]);
    expect(shardOf({ shards: 1, map: new Map() }, "t0")).toBe(0);
  });

  it("puts _platform in shard 0 and pinned tenants where the map says", () => {
    const layout = { shards: 4, map: parseShardMap("t3=2, _platform=3", 4) };
    expect(shardOf(layout, "t3")).toBe(2);
    expect(shardOf(layout, PLATFORM_TENANT)).toBe(3);
    expect(shardOf(TWO, PLATFORM_TENANT)).toBe(0);
    expect(() => parseShardMap("t3=4", 4)).toThrow(/shard 4 is not below/);
    expect(() => parseShardMap("t3", 4)).toThrow(/not tenant=shard/);
  });

  it("keeps a one-shard log's origin and lock key, and gives each shard its own", () => {
    expect(shardOrigin("o.example/audit", { shards: 1, map: new Map() }, 0)).toBe("o.example/audit");
    expect(shardOrigin("o.example/audit", TWO, 1)).toBe("o.example/audit/shard-1");
    expect(sequencerLockKey(0)).toBe(0x736f7672);
    expect(new Set([0, 1, 2, 3].flatMap((k) => [sequencerLockKey(k), sequencerLockKey(k) + 1])).size).toBe(8);
  });
});

describe.each(testDatabases)("log shards ($name)", (target) => {
  let h: TestDatabaseHandle;
  beforeAll(async () => {
    h = await target.open();
  });
  afterAll(async () => {
    await h?.close();
  });

  it("two replicas × two shards: every shard dense, in its tenants' shard, checkpointed and verified", async () => {
    const other = h.url ? await openDatabase({ databaseUrl: h.url, poolSize: 2 }) : undefined;
    try {
      await ensureLogLayout(h.db, TWO);
      const key = generateSigningKey();
      await publishSigningKey(h.db, key);
      const a = new AuditLog(h.db, h.kind, key, { batchDelayMs: 0, batchMax: 16, layout: TWO });
      const b = new AuditLog(other?.db ?? h.db, h.kind, key, { batchDelayMs: 0, batchMax: 8, layout: TWO });
      const tenants = ["t0", "t1", "t2", "t3", "t4"];
      for (let round = 0; round < 4; round++) {
        const results = await Promise.all(
          Array.from({ length: 50 }, (_, i) => {
            const t = tenants[i % tenants.length]!;
            return (i % 2 === 0 ? a : b).append(sampleDecisionAppend(t)).then((r) => ({ t, r }));
          }),
        );
        for (const { t, r } of results) expect(r.shard).toBe(shardOf(TWO, t));
      }
      const tenantSeqs = new Map<string, number[]>();
      for (const shard of [0, 1]) {
        const entries = [];
        for await (const e of readEntries(h.db, 0, undefined, undefined, shard)) entries.push(e);
        expect(entries.map((e) => e.seq)).toEqual(entries.map((_, i) => i));
        for (const e of entries) {
          const r = decodeRecord(envelopePayload(e.envelope));
          const t = (r.principal as { tenant: string }).tenant;
          expect(shardOf(TWO, t)).toBe(shard);
          tenantSeqs.set(t, [...(tenantSeqs.get(t) ?? []), r.tenant_seq!]);
        }
        // Each shard's checkpointer (here on replica b, which committed only part of the rows:
        // the rest are read and verified) signs its shard's tree under its own origin.
        const origin = shardOrigin("test.example/audit", TWO, shard);
        const cp = new Checkpointer(other?.db ?? h.db, h.kind, b.shard(shard), key, {
          origin,
          every: 1_000_000,
          intervalMs: 3_600_000,
          shard,
        });
        await cp.start();
        const signed = await cp.checkpoint();
        await cp.stop();
        expect(signed?.size).toBe(entries.length);
        const [stored] = await checkpointsUpTo(h.db, entries.length, shard);
        const note = parseCheckpoint(`${stored!.signedNote.split("\n\n")[0]}\n`);
        const tree = new MerkleTree();
        for (const e of entries) tree.append(e.leafHash);
        expect(note.origin).toBe(origin);
        expect(note.size).toBe(entries.length);
        expect(Buffer.from(note.rootHash)).toEqual(Buffer.from(tree.root(entries.length)));
      }
      expect(tenantSeqs.get("t0")!.length + tenantSeqs.get("t3")!.length).toBeGreaterThan(0);
      for (const t of tenants) expect(tenantSeqs.get(t)).toEqual(Array.from({ length: 40 }, (_, i) => i + 1));
      // The shards' locks are their own: shard 1 never took the one-shard key (Postgres).
      expect(a.shardCount).toBe(2);
    } finally {
      await other?.close();
    }
  });

  it("refuses another shard layout once the log holds records, naming the stored one", async () => {
    await expect(ensureLogLayout(h.db, { shards: 4, map: new Map() })).rejects.toThrow(LogLayoutError);
    await expect(ensureLogLayout(h.db, { shards: 4, map: new Map() })).rejects.toThrow(
      /written with SOVR_LOG_SHARDS=2/,
    );
    await expect(ensureLogLayout(h.db, { shards: 2, map: parseShardMap("t0=0", 2) })).rejects.toThrow(
      /SOVR_LOG_SHARD_MAP/,
    );
    await ensureLogLayout(h.db, TWO);
  });
});
