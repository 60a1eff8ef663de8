/**
 * Fork detection (issue 11, Medium 8): someone with database access cuts the log's tail
 * together with the checkpoints covering it, or rewrites the newest entries, and restarts the
 * server. Without a record outside the database the server would start, re-issue the same
 * sequence numbers and sign a checkpoint inconsistent with one it signed before. The server
 * keeps its latest signed checkpoint beside the keys and refuses; an auditor holding an
 * earlier checkpoint catches the fork even when that file is deleted too.
 */
import { mkdtemp, readFile, rm, unlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import type { App } from "../../src/app/index.js";
import { LatestCheckpointFile } from "../../src/audit/latest-checkpoint-file.js";
import { verifyExport } from "../../src/audit/verifier.js";
import { checkpointCommand, exportCommand, verifyCommand } from "../../src/cli/audit-commands.js";
import { toBase64 } from "../../src/encoding/base64.js";
import { appDatabases } from "../support/app.js";
import { chat, FIRST_START_RECORDS, RESTART_RECORDS } from "../support/audit-live.js";
import { GrpcJsClient } from "../support/grpc.js";
import {
  bypassAppendOnly,
  cutTail,
  openSite,
  rewindTenantHeads,
  type Site,
} from "../support/restartable-site.js";

/** The router's own admin records come first in each new log (signing key, catalog, bundle). */
const S = FIRST_START_RECORDS;
/** How far the tests cut the log back: into the traffic, behind the router's start records. */
const CUT = S + 5;

/** `n` requests (2n records), then a checkpoint of all of them; the app keeps running. */
async function traffic(app: App, n: number, what: string): Promise<void> {
  const client = new GrpcJsClient(`127.0.0.1:${app.servers.grpcPort}`);
  try {
    for (let i = 0; i < n; i++) await chat(client, `${what} ${i}`);
  } finally {
    client.close();
  }
  await app.audit.drain();
  await app.checkpointer.checkpoint();
}

async function exportTo(app: App, dir: string): Promise<string> {
  const r = await exportCommand({ url: app.httpUrl, out: dir, progress: () => {} });
  expect(r.exitCode).toBe(0);
  return dir;
}

describe.each(appDatabases)("a log cut or rewritten behind a signed checkpoint (%s)", (database) => {
  let site: Site | undefined;
  afterEach(async () => {
    await site?.close();
    site = undefined;
  });

  it("tail and its checkpoints deleted: start-up refused, naming sizes and roots (a fork)", async () => {
    site = await openSite(database);
    const app = await site.boot();
    await traffic(app, 6, "cut");
    await app.stop();
    const held = (await new LatestCheckpointFile(site.keysDir, app.config.audit.checkpointOrigin).read())!;
    expect(held.checkpoint.size).toBe(S + 12);

    await site.withDatabase((db) => cutTail(db, CUT));
    const refused = await site.boot().then(
      async (a) => {
        await a.stop();
        return undefined;
      },
      (err: unknown) => err as Error,
    );
    expect(refused?.message).toContain(
      `the log has ${CUT} entries, but the checkpoint this server signed (${join(site.keysDir, "latest-checkpoint.note")}) covers ${S + 12} with root ${toBase64(held.checkpoint.rootHash)}: the log's tail was cut — a fork; refusing to re-issue sequence numbers ${CUT}..${S + 11}`,
    );
  }, 60_000);

  it("newest entries rewritten (same length, checkpoints removed): start-up refused", async () => {
    site = await openSite(database);
    const app = await site.boot();
    await traffic(app, 6, "rewrite");
    await app.stop();
    // The last two entries trade places: each still validly signed, the log the same length.
    await site.withDatabase(async (db) => {
      const rows = await db
        .selectFrom("audit_log")
        .selectAll()
        .where("seq", ">=", S + 10)
        .orderBy("seq")
        .execute();
      await bypassAppendOnly(db, async () => {
        for (const [row, other] of [
          [rows[0]!, rows[1]!],
          [rows[1]!, rows[0]!],
        ] as const) {
          await db
            .updateTable("audit_log")
            .set({ envelope: other.envelope, leaf_hash: other.leaf_hash })
            .where("seq", "=", row.seq)
            .execute();
        }
        await db
          .deleteFrom("audit_checkpoints")
          .where("size", ">", S + 10)
          .execute();
      });
    });
    const refused = await site.boot().then(
      async (a) => {
        await a.stop();
        return undefined;
      },
      (err: unknown) => err as Error,
    );
    expect(refused?.message).toMatch(
      new RegExp(
        `the log's root at size ${S + 12} is \\S+, but the checkpoint this server signed \\(.*latest-checkpoint\\.note\\) has root \\S+: the log was rewritten — a fork`,
      ),
    );
  }, 60_000);

  it("with the file deleted too the server forks, and the auditor's kept checkpoint names it", async () => {
    site = await openSite(database);
    const out = await mkdtemp(join(tmpdir(), "sovr-fork-export-"));
    try {
      let app = await site.boot();
      await traffic(app, 6, "before");
      // The auditor keeps what it saw: export 1's checkpoints, and the latest signed note.
      const first = await exportTo(app, join(out, "1"));
      const kept = join(first, "checkpoints.jsonl");
      const latest = await checkpointCommand({ url: app.httpUrl });
      expect(latest.exitCode).toBe(0);
      const keptNotes = join(out, "kept.notes");
      await writeFile(keptNotes, `${latest.stdout.join("\n")}\n`);
      expect((await verifyCommand(first, { checkpoints: kept, trustExportKeys: true })).exitCode).toBe(0);
      await app.stop();

      // The operator cuts the tail with its checkpoints, and deletes the server's record of it
      // (and rewinds the tenants' tenant_seq heads, or the next records would show the cut).
      await site.withDatabase(async (db) => {
        await cutTail(db, CUT);
        await rewindTenantHeads(db);
      });
      await unlink(join(site.keysDir, "latest-checkpoint.note"));
      app = await site.boot();
      // The restart's admin records and one request: seq CUT.. issued a second time, and signed.
      await traffic(app, 1, "after");
      const second = await exportTo(app, join(out, "2"));
      await app.stop();

      const size = CUT + RESTART_RECORDS + 2;
      const alone = await verifyExport(second);
      expect(alone).toMatchObject({ ok: true, records: size, checkpointedSize: size });

      // The first kept checkpoint beyond the cut is named, with its size and root.
      const keptList = (await readFile(kept, "utf8"))
        .trim()
        .split("\n")
        .map((l) => JSON.parse(l) as { note: string; size: number });
      const index = keptList.findIndex((c) => c.size > CUT);
      const { size: keptSize, note } = keptList[index]!;
      const r = await verifyCommand(second, { checkpoints: kept, trustExportKeys: true });
      expect(r.exitCode).toBe(1);
      expect(r.stderr[0]).toContain(
        `FAILED at kept checkpoint ${index}: kept checkpoint ${index} (size ${keptSize}, root ${note.split("\n")[2]})`,
      );
      expect(r.stderr[0]).toMatch(
        keptSize > size ? /the log was cut .* a fork$/ : /the log was rewritten .* a fork$/,
      );
      const rootAll = keptList.at(-1)!.note.split("\n")[2];
      const n = await verifyCommand(second, { checkpoints: keptNotes, trustExportKeys: true });
      expect(n.exitCode).toBe(1);
      expect(n.stderr[0]).toContain(
        `kept checkpoint 0 (size ${S + 12}, root ${rootAll}) covers ${S + 12} records`,
      );
    } finally {
      await rm(out, { recursive: true, force: true });
    }
  }, 90_000);
});
