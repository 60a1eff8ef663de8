/**
 * Fork detection on a running server, and the checkpoint file itself (issue 11, Medium 8):
 * the file beside the keys follows every signing (atomically, mode 0600) and a tampered one
 * stops start-up naming the file; a tail cut under the running server is caught at the next
 * commit, and a file ahead of the log before the next signing; either way the checkpointer
 * signs nothing more and the router refuses requests (fail closed) until someone looks.
 */
import { readdir, readFile, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { Code } from "@connectrpc/connect";
import type { ServiceError } from "@grpc/grpc-js";
import { afterEach, describe, expect, it } from "vitest";
import type { App } from "../../src/app/index.js";
import { signCheckpoint } from "../../src/audit/checkpoint.js";
import { LogIntegrityError } from "../../src/audit/errors.js";
import { generateSigningKey, loadSigningKeys } from "../../src/audit/keys.js";
import { LatestCheckpointFile } from "../../src/audit/latest-checkpoint-file.js";
import { toBase64 } from "../../src/encoding/base64.js";
import { appDatabases } from "../support/app.js";
import { chat, FIRST_START_RECORDS } from "../support/audit-live.js";
import { GrpcJsClient } from "../support/grpc.js";
import { cutTail, openSite, type Site } from "../support/restartable-site.js";

async function chats(app: App, n: number): Promise<void> {
  const client = new GrpcJsClient(`127.0.0.1:${app.servers.grpcPort}`);
  try {
    for (let i = 0; i < n; i++) await chat(client, `live ${i}`);
  } finally {
    client.close();
  }
  await app.audit.drain();
}

/** The next request's gRPC status (code 0: it was routed). */
async function nextRequest(app: App): Promise<{ code: number; details?: string }> {
  const client = new GrpcJsClient(`127.0.0.1:${app.servers.grpcPort}`);
  try {
    await chat(client, "probe");
    return { code: 0 };
  } catch (err) {
    const { code, details } = err as ServiceError;
    return { code, details };
  } finally {
    client.close();
  }
}

async function readyz(app: App): Promise<{ status: number; body: { checks: Record<string, string> } }> {
  const res = await fetch(`${app.httpUrl}/readyz`);
  return { status: res.status, body: (await res.json()) as { checks: Record<string, string> } };
}

describe.each(appDatabases)("the checkpoint file and a fork under a running server (%s)", (database) => {
  let site: Site | undefined;
  let app: App | undefined;
  afterEach(async () => {
    await app?.stop();
    app = undefined;
    await site?.close();
    site = undefined;
  });

  it("follows every signing atomically with mode 0600; a tampered file stops start-up naming it", async () => {
    site = await openSite(database);
    app = await site.boot();
    const file = join(site.keysDir, "latest-checkpoint.note");
    const latestNote = async () =>
      (
        await app!.db.db
          .selectFrom("audit_checkpoints")
          .select("signed_note")
          .orderBy("size", "desc")
          .limit(1)
          .executeTakeFirstOrThrow()
      ).signed_note;
    await chats(app, 2);
    await app.checkpointer.checkpoint();
    const first = await stat(file);
    expect(first.mode & 0o777).toBe(0o600);
    expect(await readFile(file, "utf8")).toBe(await latestNote());
    await chats(app, 1);
    await app.checkpointer.checkpoint();
    const second = await stat(file);
    expect(second.ino).not.toBe(first.ino); // replaced by rename, never written in place
    expect(second.mode & 0o777).toBe(0o600);
    expect(await readFile(file, "utf8")).toBe(await latestNote());
    expect((await readdir(site.keysDir)).filter((n) => n.endsWith(".tmp"))).toEqual([]);
    await app.stop();
    app = undefined;

    const good = await readFile(file, "utf8");
    const lines = good.split("\n");
    const origin = lines[0]!;
    const tampered = [
      // the root edited, the signature kept
      [lines[0], lines[1], toBase64(new Uint8Array(32).fill(7)), ...lines.slice(3)].join("\n"),
      // a checkpoint far ahead of the log, signed by a key not in the keys directory
      signCheckpoint({ origin, size: 1000, rootHash: new Uint8Array(32) }, generateSigningKey()),
    ];
    for (const content of tampered) {
      await writeFile(file, content);
      const err = await site.boot().then(
        async (a) => {
          await a.stop();
          return undefined;
        },
        (e: unknown) => e as Error,
      );
      expect(err).toBeInstanceOf(LogIntegrityError);
      expect(err!.message).toContain(`${file}: signature not verified by any key in ${site.keysDir}`);
      expect(err!.message).toContain("the file was altered or forged");
    }
    await writeFile(file, good);
    app = await site.boot(); // the genuine file: starts
  }, 90_000);

  it("a tail cut under the running server: the re-issued seq is caught, nothing more is signed or routed", async () => {
    site = await openSite(database);
    app = await site.boot();
    await chats(app, 4);
    await app.checkpointer.checkpoint();
    expect((await nextRequest(app)).code).toBe(0);
    expect((await readyz(app)).body.checks.audit_log).toBe("ok");
    // The probe's outcome record waits for a decision to ride with (up to 50 ms): committed
    // after the cut on its own, it would take the re-issued seq first and the next request
    // would be refused before it could show the fork.
    await app.audit.drain();

    // Into the traffic, behind the router's own start records.
    const cut = FIRST_START_RECORDS + 4;
    await cutTail(app.db.db, cut);
    await chats(app, 1); // its decision record takes seq `cut` a second time
    if (database === "postgres") {
      expect(app.checkpointer.fault?.message).toMatch(
        new RegExp(`seq ${cut} was issued again for another entry: .* \\(a fork\\)`),
      );
      await expect(app.checkpointer.checkpoint()).rejects.toBe(app.checkpointer.fault);
    } else {
      // The embedded database's journal numbered the record past the cut: the database gives it
      // `cut`, and the journal's insertion stops there, before the checkpointer hears of it.
      await expect(app.audit.settled()).rejects.toThrow(/a fork/);
      expect(app.audit.fault?.message).toMatch(
        new RegExp(`the database gave seq ${cut} to the record journaled as \\d+: .* \\(a fork\\)`),
      );
    }
    expect(await nextRequest(app)).toEqual({
      code: Code.Unavailable,
      details: "decision record could not be written; request refused (fail closed)",
    });
    const ready = await readyz(app);
    expect(ready.status).toBe(503);
    expect(ready.body.checks.audit_log).toMatch(/integrity fault/);
  }, 60_000);

  it("before signing: a checkpoint in the file the log does not contain stops signing and routing", async () => {
    site = await openSite(database);
    app = await site.boot();
    await chats(app, 2);
    await app.checkpointer.checkpoint();
    // Another holder of these keys signed a larger tree than this log has (another log, or
    // this one before its tail was cut).
    const [key] = await loadSigningKeys(site.keysDir);
    const ahead = signCheckpoint(
      { origin: app.config.audit.checkpointOrigin, size: 50, rootHash: new Uint8Array(32).fill(1) },
      key!,
    );
    expect(
      await new LatestCheckpointFile(site.keysDir, app.config.audit.checkpointOrigin).advance(ahead),
    ).toBe(true);
    await chats(app, 1);
    const err = await app.checkpointer.checkpoint().catch((e: unknown) => e as Error);
    expect(err).toBeInstanceOf(LogIntegrityError);
    // The router's start records and three requests.
    expect((err as Error).message).toMatch(
      new RegExp(
        `the log has ${FIRST_START_RECORDS + 6} entries, but the checkpoint this server signed \\(.*\\) covers 50 with root \\S+: the log's tail was cut — a fork`,
      ),
    );
    expect(await nextRequest(app)).toEqual({
      code: Code.Unavailable,
      details: "decision record could not be written; request refused (fail closed)",
    });
  }, 60_000);
});
