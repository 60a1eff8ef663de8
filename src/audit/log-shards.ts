/**
 * Log shards (docs/audit.md §10): which shard a record goes to, each shard's origin and lock
 * keys. A record's shard is a function of its tenant only — never of the instance, which changes
 * on every restart — so every replica, before and after a restart, puts a tenant's records in
 * the same shard: its `tenant_seq` stays dense within one shard, and its budget checks (co-
 * committed with its records) run under that one shard's lock.
 *
 * - A tenant named in the shard map goes to the shard the map gives.
 * - `_platform` (platform admin records: signing keys, catalogs, bundles) goes to shard 0.
 * - Any other tenant: the first 4 bytes of SHA-256(tenant), big-endian, modulo N.
 *
 * N = 1 is the log as it always was: shard 0, origin unchanged, lock keys unchanged.
 */
import { createHash } from "node:crypto";
import { PLATFORM_TENANT } from "./record.js";

/** Postgres advisory lock key of the log sequencer ("sovr" in ASCII), shard 0's. */
export const SEQUENCER_LOCK_KEY = 0x736f7672;

export interface ShardLayout {
  /** How many shards (1: no sharding). */
  shards: number;
  /** Tenants pinned to a shard, by name (SOVR_LOG_SHARD_MAP). */
  map: ReadonlyMap<string, number>;
}

export const ONE_SHARD: ShardLayout = { shards: 1, map: new Map() };

/** The shard of `tenant`'s records under `layout`. */
export function shardOf(layout: ShardLayout, tenant: string): number {
  if (layout.shards <= 1) return 0;
  const pinned = layout.map.get(tenant);
  if (pinned !== undefined) return pinned;
  if (tenant === PLATFORM_TENANT) return 0;
  return createHash("sha256").update(tenant, "utf8").digest().readUInt32BE(0) % layout.shards;
}

/** A shard's checkpoint origin: the log's own for a one-shard log, `<origin>/shard-<k>` otherwise. */
export function shardOrigin(origin: string, layout: ShardLayout, shard: number): string {
  return layout.shards <= 1 ? origin : `${origin}/shard-${shard}`;
}

/**
 * A shard's sequencer lock key: shard 0 keeps the log's key (so a one-shard log is unchanged);
 * shard k > 0 takes `SEQUENCER_LOCK_KEY + 0x100 + 2k`, its checkpointer the next one.
 */
export function sequencerLockKey(shard: number): number {
  return shard === 0 ? SEQUENCER_LOCK_KEY : SEQUENCER_LOCK_KEY + 0x100 + 2 * shard;
}

export function checkpointerLockKey(shard: number): number {
  return sequencerLockKey(shard) + 1;
}

/**
 * Parses SOVR_LOG_SHARD_MAP: `tenant=shard` pairs separated by commas (`acme=1,globex=0`).
 * Throws naming the entry that does not parse or names a shard outside 0..shards-1.
 */
export function parseShardMap(text: string, shards: number): Map<string, number> {
  const map = new Map<string, number>();
  for (const part of text.split(",").map((p) => p.trim())) {
    if (part === "") continue;
    const m = /^([^=\s]+)=(\d+)$/.exec(part);
    if (!m) throw new Error(`entry ${JSON.stringify(part)} is not tenant=shard`);
    const shard = Number(m[2]);
    if (shard >= shards)
      throw new Error(`tenant ${m[1]}: shard ${shard} is not below SOVR_LOG_SHARDS (${shards})`);
    if (map.has(m[1]!)) throw new Error(`tenant ${m[1]} is named twice`);
    map.set(m[1]!, shard);
  }
  return map;
}

/** The layout as stored with the log: the map's entries sorted, `tenant=shard` joined by commas. */
export function mapFingerprint(layout: ShardLayout): string {
  return [...layout.map]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([t, s]) => `${t}=${s}`)
    .join(",");
}
