/**
 * An export carries the catalog revisions its decision records refer to (docs/audit.md §5),
 * over a real server: a decision names each candidate's data-policy attributes only by
 * `catalog_revision`, so `sovr audit export` writes `catalogs/<revision>.json` (the stored
 * canonical bytes, whose SHA-256 is the name) and `sovr audit verify` recomputes each hash and
 * requires every referenced revision — naming the first one missing or altered.
 */
import { createHash } from "node:crypto";
import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createApiKey } from "../../src/auth/api-keys.js";
import { MasterKey } from "../../src/auth/byok.js";
import { getRevision } from "../../src/catalog/catalog-store.js";
import { auditClient, exportCommand, verifyCommand } from "../../src/cli/audit-commands.js";
import { appDatabases, REPO, startTestApp, type TestApp } from "../support/app.js";
import { chat } from "../support/audit-live.js";
import { GrpcJsClient } from "../support/grpc.js";

/** A server secret that must appear in no exported file. */
const CANARY = MasterKey.generate();

describe.each(appDatabases)("export with catalog revisions (%s)", (database) => {
  let t: TestApp;
  let tenantAuditor: string;
  let allAuditor: string;
  let first: string; // the revision ta's decisions saw
  let second: string; // the revision tb's decisions saw, after a catalog change
  const clients: GrpcJsClient[] = [];
  const dirs: string[] = [];

  async function exportAs(key: string): Promise<string> {
    const dir = await mkdtemp(join(tmpdir(), "sovr-export-catalogs-"));
    dirs.push(dir);
    const r = await exportCommand({ url: t.app.httpUrl, key, out: dir, progress: () => {} });
    expect(r.stderr).toEqual([]);
    expect(r.exitCode).toBe(0);
    return dir;
  }
  const catalogFiles = async (dir: string) => (await readdir(join(dir, "catalogs"))).sort();

  beforeAll(async () => {
    t = await startTestApp({
      database,
      auth: true,
      env: { SOVR_CHECKPOINT_INTERVAL_MS: "60000", SOVR_MASTER_KEY: CANARY },
    });
    const key = async (tenant: string, role: "client" | "auditor", allTenants = false) =>
      (await createApiKey(t.app.db.db, { tenant, roles: [role], allTenants })).token;
    tenantAuditor = await key("ta", "auditor");
    allAuditor = await key("ops", "auditor", true);
    const ta = await key("ta", "client");
    const tb = await key("tb", "client");
    await t.app.auth.refresh();
    const addr = `127.0.0.1:${t.app.servers.grpcPort}`;
    const a = new GrpcJsClient(addr, { key: ta });
    const b = new GrpcJsClient(addr, { key: tb });
    clients.push(a, b);
    first = t.app.catalog.current().revision;
    await chat(a, "a 1");
    await chat(a, "a 2");
    // A catalog change: tb's decisions refer to the new revision, ta's to the first only.
    const yaml = await readFile(join(REPO, "test/fixtures/catalog/simulator.yaml"), "utf8");
    const applied = await t.app.catalog.apply([
      { name: "simulator.yaml", content: yaml.replace("name: Simulator EU", "name: Simulator EU (renamed)") },
    ]);
    expect(applied.changed).toBe(true);
    second = applied.snapshot.revision;
    await chat(b, "b 1");
    await chat(b, "b 2");
    await t.app.audit.drain();
  });
  afterAll(async () => {
    for (const c of clients) c.close();
    for (const d of dirs) await rm(d, { recursive: true, force: true });
    await t?.close();
  });

  it("streams each referenced revision once, and the export holds exactly the stored bytes", async () => {
    const sent: string[] = [];
    for await (const res of auditClient({ url: t.app.httpUrl, key: allAuditor }).exportDecisions({})) {
      if (res.item.case === "catalog") sent.push(res.item.value.revision);
    }
    expect(sent).toEqual([first, second]);

    const dir = await exportAs(allAuditor);
    expect(await catalogFiles(dir)).toEqual([`${first}.json`, `${second}.json`].sort());
    for (const revision of [first, second]) {
      const bytes = await readFile(join(dir, "catalogs", `${revision}.json`));
      // What an auditor recomputes with any SHA-256: the file's hash is its name.
      expect(createHash("sha256").update(bytes).digest("hex")).toBe(revision);
      expect(bytes.toString("utf8")).toBe((await getRevision(t.app.db.db, revision))?.canonical);
      expect(bytes.toString("utf8")).not.toContain(CANARY);
    }
    const r = await verifyCommand(dir, { trustExportKeys: true });
    expect(r.stderr).toEqual([]);
    expect(r.exitCode).toBe(0);
    expect(r.stdout[0]).toContain("2 catalog revisions verified");
  });

  it("a tenant's export carries only the revisions its own records refer to", async () => {
    const dir = await exportAs(tenantAuditor);
    expect(await catalogFiles(dir)).toEqual([`${first}.json`]);
    const r = await verifyCommand(dir, { trustExportKeys: true });
    expect(r.stderr).toEqual([]);
    expect(r.stdout[0]).toContain("OK: 4 records of tenant ta");
    expect(r.stdout[0]).toContain("1 catalog revision verified");
  });

  it("fails naming the revision when its file is deleted", async () => {
    const dir = await exportAs(allAuditor);
    await rm(join(dir, "catalogs", `${second}.json`));
    const r = await verifyCommand(dir, { trustExportKeys: true });
    expect(r.exitCode).toBe(1);
    expect(r.stderr[0]).toMatch(
      new RegExp(
        `^FAILED at catalog ${second}: catalog revision ${second} \\(referenced by seq \\d+\\) is missing`,
      ),
    );
    const scoped = await exportAs(tenantAuditor);
    await rm(join(scoped, "catalogs", `${first}.json`));
    expect((await verifyCommand(scoped, { trustExportKeys: true })).stderr[0]).toContain(
      `FAILED at catalog ${first}: catalog revision ${first}`,
    );
  });

  it("fails naming the revision when one byte of its file is altered", async () => {
    for (const key of [allAuditor, tenantAuditor]) {
      const dir = await exportAs(key);
      const path = join(dir, "catalogs", `${first}.json`);
      const bytes = await readFile(path);
      const i = bytes.indexOf("Simulator US");
      bytes[i] = "s".charCodeAt(0);
      await writeFile(path, bytes);
      const r = await verifyCommand(dir, { trustExportKeys: true });
      expect(r.exitCode).toBe(1);
      expect(r.stderr[0]).toContain(`FAILED at catalog ${first}: catalogs/${first}.json: content hashes to`);
      expect(r.stderr[0]).toContain("the catalog revision was altered");
    }
  });
});
