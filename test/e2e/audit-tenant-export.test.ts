/**
 * A tenant-scoped export over a real server with API keys: a tenant's auditor gets its own
 * tenant's records only, each with an inclusion proof to the export's signed checkpoint, and
 * `sovr audit verify` shows offline that none of them is missing (record format v2's
 * tenant_seq) — or names the first missing tenant_seq, or the record whose proof was altered.
 */
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Code, ConnectError } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { countTenantEntries, readTenantEntries } from "../../src/audit/audit-store.js";
import { envelopePayload } from "../../src/audit/dsse.js";
import { decodeRecord, recordTenant } from "../../src/audit/record.js";
import { createApiKey } from "../../src/auth/api-keys.js";
import { auditClient, exportCommand, verifyCommand } from "../../src/cli/audit-commands.js";
import { appDatabases, startTestApp, type TestApp } from "../support/app.js";
import { chat } from "../support/audit-live.js";
import { GrpcJsClient } from "../support/grpc.js";

interface Line {
  seq: number;
  envelope: { payload: string; payloadType: string; signatures: { keyid: string; sig: string }[] };
  proof: { hashes: string[]; leaf_index: number; tree_size: number };
}

describe.each(appDatabases)("tenant-scoped export (%s)", (database) => {
  let t: TestApp;
  let auditorKey: string;
  const clients: GrpcJsClient[] = [];
  const dirs: string[] = [];

  async function exportAs(key: string, opts: { tenant?: string; fromSeq?: number } = {}): Promise<string> {
    const dir = await mkdtemp(join(tmpdir(), "sovr-tenant-export-"));
    dirs.push(dir);
    const r = await exportCommand({ url: t.app.httpUrl, key, out: dir, progress: () => {}, ...opts });
    expect(r.exitCode).toBe(0);
    return dir;
  }
  const readLines = async (dir: string) =>
    (await readFile(join(dir, "records.jsonl"), "utf8"))
      .split("\n")
      .filter(Boolean)
      .map((l) => JSON.parse(l) as Line);
  const writeLines = (dir: string, lines: Line[]) =>
    writeFile(join(dir, "records.jsonl"), lines.map((l) => `${JSON.stringify(l)}\n`).join(""));

  beforeAll(async () => {
    t = await startTestApp({ database, auth: true, env: { SOVR_CHECKPOINT_INTERVAL_MS: "60000" } });
    const key = async (tenant: string, role: "client" | "auditor") => {
      const { token } = await createApiKey(t.app.db.db, { tenant, roles: [role] });
      await t.app.auth.refresh();
      return token;
    };
    auditorKey = await key("ta", "auditor");
    const addr = `127.0.0.1:${t.app.servers.grpcPort}`;
    const ta = new GrpcJsClient(addr, { key: await key("ta", "client") });
    const tb = new GrpcJsClient(addr, { key: await key("tb", "client") });
    clients.push(ta, tb);
    // Interleaved traffic of two tenants: ta's records are not contiguous in the log.
    for (let i = 0; i < 4; i++) {
      await chat(ta, `a ${i}`);
      await chat(tb, `b ${i}`);
    }
    await t.app.audit.drain();
  });
  afterAll(async () => {
    for (const c of clients) c.close();
    for (const d of dirs) await rm(d, { recursive: true, force: true });
    await t?.close();
  });

  it("gives a tenant's auditor its own records with proofs, and the export verifies offline", async () => {
    const dir = await exportAs(auditorKey);
    const keys = JSON.parse(await readFile(join(dir, "keys.json"), "utf8"));
    expect(keys.scope).toEqual({ tenant: "ta", from_seq: 0 });
    const lines = await readLines(dir);
    // ta's 4 decisions and 4 outcomes, numbered 1..8 in log order, and nothing of tb's.
    const records = lines.map((l) => decodeRecord(envelopePayload(l.envelope)));
    expect(records.map((r) => recordTenant(r))).toEqual(Array(8).fill("ta"));
    expect(records.map((r) => [r.v, r.tenant_seq])).toEqual([1, 2, 3, 4, 5, 6, 7, 8].map((n) => [2, n]));
    await t.app.audit.settled();
    const logSize = (await t.app.db.db.selectFrom("audit_log").select("seq").execute()).length;
    expect(logSize).toBe(16 + 3); // and the router's three admin records at start (platform tenant)
    expect(lines.map((l) => l.seq)).not.toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    expect(lines.every((l) => l.proof.leaf_index === l.seq && l.proof.tree_size === logSize)).toBe(true);
    expect((await readFile(join(dir, "checkpoints.jsonl"), "utf8")).trim().split("\n")).toHaveLength(1);
    // Read in pages smaller than the history, the store gives the same entries in order.
    const paged: number[] = [];
    for await (const e of readTenantEntries(t.app.db.db, "ta", 0, logSize, 3)) paged.push(e.seq);
    expect(paged).toEqual(lines.map((l) => l.seq));
    expect(await countTenantEntries(t.app.db.db, "ta", 0, logSize)).toBe(8);

    const r = await verifyCommand(dir, { trustExportKeys: true });
    expect(r.stderr).toEqual([]);
    expect(r.exitCode).toBe(0);
    expect(r.stdout[0]).toContain("OK: 8 records of tenant ta");
    expect(r.stdout[0]).toContain("tenant_seq 1..8 dense");
  });

  it("refuses another tenant's export to a tenant's auditor, naming the field", async () => {
    const err = await auditClient({ url: t.app.httpUrl, key: auditorKey })
      .exportDecisions({ tenant: "tb" })
      [Symbol.asyncIterator]()
      .next()
      .then(
        () => undefined,
        (e: unknown) => ConnectError.from(e),
      );
    expect(err?.code).toBe(Code.PermissionDenied);
    expect(err?.rawMessage).toMatch(/^tenant: .* may export only tenant ta, not tb/);
  });

  it("names the first missing tenant_seq when one of the tenant's records is deleted from the export", async () => {
    const dir = await exportAs(auditorKey);
    const lines = await readLines(dir);
    await writeLines(dir, [...lines.slice(0, 2), ...lines.slice(3)]);
    const r = await verifyCommand(dir, { trustExportKeys: true });
    expect(r.exitCode).toBe(1);
    expect(r.stderr[0]).toContain(`FAILED at tenant_seq 3 (seq ${lines[3]!.seq})`);
    expect(r.stderr[0]).toContain("tenant_seq 3 of tenant ta is missing");
    // The first record deleted: a whole-history export must start at tenant_seq 1.
    await writeLines(dir, lines.slice(1));
    expect((await verifyCommand(dir, { trustExportKeys: true })).stderr[0]).toContain(
      "tenant_seq 1 of tenant ta is missing",
    );
  });

  it("fails when a proof or a record is altered", async () => {
    const dir = await exportAs(auditorKey);
    const lines = await readLines(dir);
    const proof = lines[4]!.proof;
    const bad = Buffer.from(proof.hashes[0]!, "base64");
    bad[0]! ^= 1;
    const altered = structuredClone(lines);
    altered[4]!.proof.hashes[0] = bad.toString("base64");
    await writeLines(dir, altered);
    let r = await verifyCommand(dir, { trustExportKeys: true });
    expect(r.exitCode).toBe(1);
    expect(r.stderr[0]).toContain(`FAILED at seq ${lines[4]!.seq}: inclusion proof of seq ${lines[4]!.seq}`);
    // A proof for another leaf (a record moved to another place) fails as well.
    const moved = structuredClone(lines);
    moved[4]!.proof = lines[5]!.proof;
    await writeLines(dir, moved);
    r = await verifyCommand(dir, { trustExportKeys: true });
    expect(r.stderr[0]).toMatch(/inclusion proof is for leaf \d+, not/);
  });

  it("an export from a later seq starts its tenant_seq wherever the first record stands", async () => {
    const all = await readLines(await exportAs(auditorKey));
    const dir = await exportAs(auditorKey, { fromSeq: all[3]!.seq });
    const lines = await readLines(dir);
    expect(lines.map((l) => l.seq)).toEqual(all.slice(3).map((l) => l.seq));
    const r = await verifyCommand(dir, { trustExportKeys: true });
    expect(r.exitCode).toBe(0);
    expect(r.stdout[0]).toContain("tenant_seq 4..8 dense");
  });
});
