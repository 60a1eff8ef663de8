/**
 * A sharded log end to end (docs/audit.md §10): SOVR_LOG_SHARDS=2, the platform's admin records
 * in shard 0 and the tenant's decisions in its shard (tenant "default" hashes to shard 1), two
 * replicas on one Postgres, receipts naming the shard by origin, proofs within the shard, and
 * `sovr audit export` / `verify` over every shard — a tampered record named with its shard.
 */
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseReceipt } from "../../src/audit/receipt.js";
import {
  auditClient,
  checkpointCommand,
  exportCommand,
  verifyCommand,
} from "../../src/cli/audit-commands.js";
import { proveCommand } from "../../src/cli/audit-receipts.js";
import { keysCommand } from "../../src/cli/audit-trust.js";
import { appDatabases, startTestApp, type TestApp } from "../support/app.js";

const SHARDED = {
  SOVR_LOG_SHARDS: "2",
  SOVR_CHECKPOINT_EVERY: "100000",
  SOVR_CHECKPOINT_INTERVAL_MS: "3600000",
};
const EU = { region: "eu", provider: { only: ["sim-eu"] } } as object;

describe.each(appDatabases)("a sharded log (%s)", (database) => {
  const apps: TestApp[] = [];
  let dir: string;
  const decisions: string[] = [];

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "sovr-shards-"));
    const a = await startTestApp({ database, env: SHARDED });
    apps.push(a);
    // A second replica on the same Postgres database (its own keys directory and pool).
    if (database === "postgres")
      apps.push(await startTestApp({ env: { ...SHARDED, DATABASE_URL: a.app.config.databaseUrl! } }));
  });
  afterAll(async () => {
    for (const t of apps.reverse()) await t.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it("routes the tenant's decisions to its shard; receipts and proofs name that shard", async () => {
    const results = await Promise.all(
      Array.from({ length: 8 }, (_, i) => {
        const t = apps[i % apps.length]!;
        const openai = new OpenAI({ baseURL: `${t.app.httpUrl}/v1`, apiKey: "unused", maxRetries: 0 });
        return openai.chat.completions
          .create({ model: "sim/chat-small", messages: [{ role: "user", content: `hi ${i}` }], ...EU })
          .withResponse();
      }),
    );
    for (const r of results) {
      const receipt = parseReceipt(r.response.headers.get("x-sovr-receipt")!);
      expect(receipt.origin).toMatch(/\/shard-1$/);
      decisions.push(receipt.decisionId);
    }
    for (const t of apps) await t.app.audit.drain();
    const db = apps[0]!.app.db.db;
    for (const shard of [0, 1]) {
      const rows = await db
        .selectFrom("audit_log")
        .select(["seq", "kind"])
        .where("shard", "=", shard)
        .orderBy("seq")
        .execute();
      expect(rows.map((r) => Number(r.seq))).toEqual(rows.map((_, i) => i));
      // Shard 0: the platform's admin records only; shard 1: the tenant's decisions and outcomes.
      if (shard === 0) expect(new Set(rows.map((r) => r.kind))).toEqual(new Set(["admin"]));
      else expect(rows.filter((r) => r.kind === "decision")).toHaveLength(8);
    }
    // Each decision record names its log shard, signed with it.
    const envs = await db.selectFrom("audit_log").select("envelope").where("kind", "=", "decision").execute();
    for (const e of envs) {
      const payload = JSON.parse(Buffer.from(JSON.parse(e.envelope).payload, "base64").toString("utf8"));
      expect(payload.shard).toBe("1");
    }
    // Admin records are read by (shard, seq): shard 1's rows at the same seqs are not theirs.
    const admin = await auditClient({ url: apps[0]!.app.httpUrl }).queryAdminRecords({ tenant: "_platform" });
    const shard0 = await db.selectFrom("audit_log").select("seq").where("shard", "=", 0).execute();
    expect(admin.records).toHaveLength(shard0.length);
    expect(new Set(admin.records.map((r) => r.eventId)).size).toBe(shard0.length);
    const pinned = join(dir, "pinned.json");
    expect((await keysCommand(auditClient({ url: apps[0]!.app.httpUrl }), { out: pinned })).exitCode).toBe(0);
    const res = await auditClient({ url: apps[0]!.app.httpUrl }).getDecision({ decisionId: decisions[0]! });
    expect(res.checkpoint?.origin).toMatch(/\/shard-1$/);
    const proved = await proveCommand(decisions[1]!, { url: apps[0]!.app.httpUrl, trustedKeys: pinned });
    expect(proved.stderr.join("\n")).toBe("");
    expect(proved.exitCode).toBe(0);
  });

  it("exports every shard and verifies each; a tampered record in shard 1 is named with its shard", async () => {
    const out = join(dir, "export");
    const r = await exportCommand({ url: apps[0]!.app.httpUrl, out, progress: () => {} });
    expect(r.exitCode, r.stderr.join("\n")).toBe(0);
    const index = JSON.parse(await readFile(join(out, "shards.json"), "utf8")) as { shards: number };
    expect(index.shards).toBe(2);
    const ok = await verifyCommand(out, { trustExportKeys: true });
    expect(ok.stderr.join("\n")).toBe("");
    expect(ok.stdout.at(-1)).toBe("OK: 2 of 2 log shards verified");

    // One byte of one record's signed payload changed, in shard 1.
    const file = join(out, "shards/1/records.jsonl");
    const original = await readFile(file, "utf8");
    const lines = original.split("\n");
    const line = JSON.parse(lines[2]!) as { envelope: { payload: string }; seq: number };
    const payload = Buffer.from(line.envelope.payload, "base64").toString("utf8");
    expect(payload).toContain("sim/chat-small");
    line.envelope.payload = Buffer.from(payload.replace("sim/chat-small", "sim/chat-smalL")).toString(
      "base64",
    );
    lines[2] = JSON.stringify(line);
    await writeFile(file, lines.join("\n"));
    const bad = await verifyCommand(out, { trustExportKeys: true });
    expect(bad.exitCode).toBe(1);
    expect(bad.stderr.join("\n")).toMatch(new RegExp(`^shard 1: FAILED at seq ${line.seq}: `));

    // A whole-log export that leaves a shard out is refused, naming it.
    await writeFile(
      join(out, "shards.json"),
      JSON.stringify({
        ...index,
        exported: [{ shard: 1, origin: apps[0]!.app.checkpointers[1]!.origin, dir: "shards/1" }],
      }),
    );
    await writeFile(file, original);
    const lacking = await verifyCommand(out, { trustExportKeys: true });
    expect(lacking.stderr.join("\n")).toMatch(/lacks shard 0/);
  });

  it("a tenant's export holds its shard only and verifies; GetCheckpoint serves each shard's", async () => {
    const url = apps[0]!.app.httpUrl;
    const out = join(dir, "tenant");
    const r = await exportCommand({ url, out, tenant: "default", progress: () => {} });
    expect(r.exitCode, r.stderr.join("\n")).toBe(0);
    const index = JSON.parse(await readFile(join(out, "shards.json"), "utf8")) as {
      exported: { shard: number }[];
    };
    expect(index.exported.map((e) => e.shard)).toEqual([1]);
    const v = await verifyCommand(out, { trustExportKeys: true });
    expect(v.stderr.join("\n")).toBe("");
    expect(v.stdout.at(-1)).toBe("OK: 1 of 2 log shards verified");
    const client = auditClient({ url });
    expect((await client.getCheckpoint({ shard: 1 })).checkpoint?.origin).toMatch(/\/shard-1$/);
    expect((await client.getCheckpoint({})).checkpoint?.origin).toMatch(/\/shard-0$/);
    const note = await checkpointCommand({ url, shard: "1" });
    expect(note.stdout[0]).toMatch(/^sovereign-router\.local\/audit\/shard-1\n/);
    await expect(client.getCheckpoint({ shard: 2 })).rejects.toThrow(
      /shard: is beyond the log's last shard \(1\)/,
    );
  });

  it("WatchDecisions follows the tenant's shard; over every tenant it must name a shard", async () => {
    const client = auditClient({ url: apps[0]!.app.httpUrl });
    const seen: { seq: bigint; shard: number }[] = [];
    for await (const m of client.watchDecisions({ fromSeq: 0n, follow: false, tenant: "default" }))
      if (m.entry) seen.push({ seq: m.entry.seq, shard: m.shard });
    expect(seen.length).toBeGreaterThanOrEqual(8);
    expect(seen.filter((e) => e.shard === 1)).toHaveLength(seen.length);
    const shard0: bigint[] = [];
    for await (const m of client.watchDecisions({ fromSeq: 0n, follow: false, shard: 0 }))
      if (m.entry) shard0.push(m.entry.seq);
    expect(shard0).toEqual([]); // shard 0 holds admin records only, which the feed skips
    const every = async () => {
      for await (const _ of client.watchDecisions({ fromSeq: 0n, follow: false })) {
        // drained
      }
    };
    await expect(every()).rejects.toThrow(/shard: is required: the log has 2 shards/);
  });

  it.runIf(database === "postgres")(
    "refuses to start with another shard count on a log that holds records",
    async () => {
      await expect(
        startTestApp({
          env: { ...SHARDED, SOVR_LOG_SHARDS: "4", DATABASE_URL: apps[0]!.app.config.databaseUrl! },
        }),
      ).rejects.toThrow(/written with SOVR_LOG_SHARDS=2/);
    },
  );
});
