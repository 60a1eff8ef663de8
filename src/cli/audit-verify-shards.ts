/**
 * `sovr audit verify DIR` over a sharded log's export (docs/audit.md §10): every shard directory
 * `shards.json` names is verified as the one-shard export it is, under its own origin, and a
 * failure names its shard. A whole-log export must hold every shard (one left out would hide
 * its records); each shard's keys.json must carry the origin the index gives it, and, with
 * pinned keys, the pinned log's origin with `/shard-<k>`.
 */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { KEYS_FILE, type ShardsIndex } from "../audit/index.js";
import type { CommandResult } from "./audit-commands.js";

/** Verifies shard directory `dir` with its origin pinned to `origin` (when keys are pinned). */
export type VerifyShard = (dir: string, origin: string) => Promise<CommandResult>;

export async function verifyShards(
  dir: string,
  index: ShardsIndex,
  verifyOne: VerifyShard,
): Promise<CommandResult> {
  const failed = (what: string): CommandResult => ({ exitCode: 1, stdout: [], stderr: [`FAILED: ${what}`] });
  const stdout: string[] = [];
  let scoped = false;
  for (const e of index.exported) {
    const keys = JSON.parse(await readFile(join(dir, e.dir, KEYS_FILE), "utf8")) as {
      origin?: unknown;
      scope?: unknown;
    };
    if (keys.origin !== e.origin)
      return failed(
        `shard ${e.shard}: ${KEYS_FILE} names origin ${JSON.stringify(keys.origin)}, the index ${e.origin}`,
      );
    scoped ||= keys.scope !== undefined;
    const r = await verifyOne(join(dir, e.dir), e.origin);
    if (r.exitCode !== 0)
      return { exitCode: r.exitCode, stdout: [], stderr: r.stderr.map((l) => `shard ${e.shard}: ${l}`) };
    stdout.push(...r.stdout.map((l) => `shard ${e.shard}: ${l}`));
  }
  if (!scoped) {
    const missing = Array.from({ length: index.shards }, (_, k) => k).filter(
      (k) => !index.exported.some((e) => e.shard === k),
    );
    if (missing.length > 0)
      return failed(
        `the log has ${index.shards} shards; this whole-log export lacks shard ${missing.join(", ")}`,
      );
  }
  stdout.push(`OK: ${index.exported.length} of ${index.shards} log shards verified`);
  return { exitCode: 0, stdout, stderr: [] };
}

/**
 * The origin to pin shard `origin` to, given the pinned keys' origin: the pinned log's origin
 * (with or without a `/shard-<n>` of its own, as `sovr audit keys` gives shard 0's) followed by
 * the shard's `/shard-<k>`. Undefined when nothing is pinned.
 */
export function pinnedShardOrigin(pinned: string | undefined, origin: string): string | undefined {
  if (pinned === undefined) return undefined;
  const base = pinned.replace(/\/shard-\d+$/, "");
  const k = /\/shard-(\d+)$/.exec(origin)?.[1];
  return k === undefined ? pinned : `${base}/shard-${k}`;
}
