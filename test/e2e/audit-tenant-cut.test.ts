/**
 * Record format v2 against a cut tail: an operator deletes the log's newest rows with the
 * checkpoints covering them, and the server's own checkpoint file, and restarts it. Unless the
 * operator also rewinds `audit_tenant_heads`, the server's next records continue each tenant's
 * numbers past the cut, and an export that verifies as a Merkle log still names the missing
 * tenant_seq. (A thorough operator rewinds the heads too: then only checkpoints the auditor
 * kept show the fork — test/e2e/audit-fork.test.ts.)
 */
import { mkdtemp, rm, unlink } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import type { App } from "../../src/app/index.js";
import { verifyExport } from "../../src/audit/verifier.js";
import { exportCommand } from "../../src/cli/audit-commands.js";
import { appDatabases } from "../support/app.js";
import { chat, FIRST_START_RECORDS, RESTART_RECORDS } from "../support/audit-live.js";
import { GrpcJsClient } from "../support/grpc.js";
import { cutTail, openSite, type Site } from "../support/restartable-site.js";

async function traffic(app: App, n: number): Promise<void> {
  const client = new GrpcJsClient(`127.0.0.1:${app.servers.grpcPort}`);
  try {
    for (let i = 0; i < n; i++) await chat(client, `cut ${i}`);
  } finally {
    client.close();
  }
  await app.audit.drain();
  await app.checkpointer.checkpoint();
}

describe.each(appDatabases)("a cut tail under record format v2 (%s)", (database) => {
  let site: Site | undefined;
  afterEach(async () => {
    await site?.close();
    site = undefined;
  });

  it("shows as a missing tenant_seq when the tenant heads were not rewound", async () => {
    site = await openSite(database);
    let app = await site.boot();
    // After the router's own start records (platform tenant): tenant default's 1..10.
    const S = FIRST_START_RECORDS;
    await traffic(app, 5);
    await app.stop();
    // Cut after default's tenant_seq 6.
    const cut = S + 6;
    await site.withDatabase((db) => cutTail(db, cut));
    await unlink(join(site.keysDir, "latest-checkpoint.note"));
    app = await site.boot();
    // The restart's admin records (platform: its heads were not cut), then default's 11 and 12.
    await traffic(app, 1);
    const out = await mkdtemp(join(tmpdir(), "sovr-tenant-cut-"));
    try {
      const r = await exportCommand({ url: app.httpUrl, out, progress: () => {} });
      expect(r.exitCode).toBe(0);
      await app.stop();
      const v = await verifyExport(out);
      expect(v.ok).toBe(false);
      expect(v.firstError).toMatchObject({ seq: cut + RESTART_RECORDS, tenantSeq: 7 });
      expect(v.firstError!.what).toMatch(/^tenant_seq 7 of tenant default is missing/);
    } finally {
      await rm(out, { recursive: true, force: true });
    }
  }, 90_000);
});
