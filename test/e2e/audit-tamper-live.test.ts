/**
 * Tampering with the live database (DESIGN §8, issue 6 acceptance): each change an operator
 * with database access could make is exported through the real ExportDecisions RPC
 * (`sovr audit export`) and caught by the offline verifier (`sovr audit verify`), which names
 * it. After each case the change is undone and the log verifies again.
 */
import { rm } from "node:fs/promises";
import { sql } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { signCheckpoint } from "../../src/audit/checkpoint.js";
import { type DsseEnvelope, entryLeafHash, signEnvelope } from "../../src/audit/dsse.js";
import { generateSigningKey } from "../../src/audit/keys.js";
import { verifyExport } from "../../src/audit/verifier.js";
import { verifyCommand } from "../../src/cli/audit-commands.js";
import type { AuditLogRow } from "../../src/db/schema.js";
import { fromBase64, toBase64 } from "../../src/encoding/base64.js";
import { appDatabases, startTestApp, type TestApp } from "../support/app.js";
import { chat, exportLog } from "../support/audit-live.js";
import { GrpcJsClient } from "../support/grpc.js";

describe.each(appDatabases)("tampering with the live log is detected and named (%s)", (database) => {
  let t: TestApp;
  let grpc: GrpcJsClient;
  let rows: AuditLogRow[];
  /** How many admin records the router wrote at start, before the first decision. */
  let A = 0;
  const db = () => t.app.db.db;

  /** Runs `change` with the append-only trigger off (as the table owner could), then re-enables it. */
  async function bypass(change: () => Promise<unknown>): Promise<void> {
    await sql`alter table audit_log disable trigger audit_log_no_update`.execute(db());
    try {
      await change();
    } finally {
      await sql`alter table audit_log enable trigger audit_log_no_update`.execute(db());
    }
  }

  async function exportAndVerify() {
    const dir = await exportLog(t);
    try {
      return { result: await verifyExport(dir), cli: await verifyCommand(dir, { trustExportKeys: true }) };
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }

  async function restoreRows(seqs: number[]): Promise<void> {
    await bypass(async () => {
      await db().deleteFrom("audit_log").where("seq", "in", seqs).execute();
      await db()
        .insertInto("audit_log")
        .values(rows.filter((r) => seqs.includes(Number(r.seq))))
        .execute();
    });
  }

  const payloadOf = (r: AuditLogRow) =>
    new TextDecoder().decode(fromBase64((JSON.parse(r.envelope) as DsseEnvelope).payload));

  const setEnvelope = (seq: number, envelope: string, leaf?: Uint8Array) =>
    db()
      .updateTable("audit_log")
      .set({ envelope, ...(leaf ? { leaf_hash: leaf } : {}) })
      .where("seq", "=", seq)
      .execute();

  beforeAll(async () => {
    t = await startTestApp({
      database,
      env: { SOVR_CHECKPOINT_EVERY: "4", SOVR_CHECKPOINT_INTERVAL_MS: "60000" },
    });
    grpc = new GrpcJsClient(`127.0.0.1:${t.app.servers.grpcPort}`);
    for (let i = 0; i < 8; i++) {
      await chat(grpc, `tamper ${i}`);
      // A checkpoint inside the traffic, whatever batches the log took the records in.
      if (i === 3) {
        await t.app.audit.drain();
        await t.app.checkpointer.checkpoint();
      }
    }
    await t.app.audit.drain();
    rows = await db().selectFrom("audit_log").selectAll().orderBy("seq").execute();
    // The router's own admin records come first (signing key, catalog, policy bundle at start).
    A = rows.findIndex((r) => r.kind !== "admin");
    expect(rows.slice(0, A).map((r) => r.kind)).toEqual(["admin", "admin", "admin"]);
    expect(rows).toHaveLength(A + 16);
  });
  afterAll(async () => {
    grpc?.close();
    await t?.close();
  });

  it("the untouched log verifies, and the append-only trigger refuses plain updates", async () => {
    const { result, cli } = await exportAndVerify();
    expect(result.ok).toBe(true);
    expect(result.records).toBe(A + 16);
    expect(result.checkpointedSize).toBe(A + 16);
    expect(cli.exitCode).toBe(0);
    await expect(db().deleteFrom("audit_log").where("seq", "=", 0).execute()).rejects.toThrow(/append-only/);
  });

  it("one byte changed in a stored record: its signature fails at that seq", async () => {
    const target = A + 6; // a decision record inside a checkpoint
    const env = JSON.parse(rows[target]!.envelope) as DsseEnvelope;
    const payload = new TextDecoder().decode(fromBase64(env.payload));
    expect(payload).toContain('"plan":["sim-eu/chat-small"]');
    // Rewrite history: the plan claims another endpoint (same length, one byte differs).
    const forged = payload.replace('"plan":["sim-eu/', '"plan":["sim-us/');
    await bypass(() =>
      setEnvelope(target, JSON.stringify({ ...env, payload: toBase64(new TextEncoder().encode(forged)) })),
    );
    const { result, cli } = await exportAndVerify();
    expect(result.ok).toBe(false);
    expect(result.firstError).toMatchObject({ seq: target });
    expect(result.firstError!.what).toMatch(/^signature/);
    expect(cli.exitCode).toBe(1);
    expect(cli.stderr[0]).toMatch(new RegExp(`^FAILED at seq ${target}: signature`));
    await restoreRows([target]);
    expect((await exportAndVerify()).result.ok).toBe(true);
  });

  it("one byte changed in an admin record (who applied the catalog): named at its seq", async () => {
    const target = rows.findIndex((r) => r.kind === "admin" && payloadOf(r).includes('"catalog.apply"'));
    expect(target).toBeGreaterThanOrEqual(0);
    const env = JSON.parse(rows[target]!.envelope) as DsseEnvelope;
    const payload = payloadOf(rows[target]!);
    // Rewrite who did it: the router's own start becomes a local operator's act.
    const forged = payload.replace('"kind":"system"', '"kind":"local!"');
    expect(forged).not.toBe(payload);
    await bypass(() =>
      setEnvelope(target, JSON.stringify({ ...env, payload: toBase64(new TextEncoder().encode(forged)) })),
    );
    const { result, cli } = await exportAndVerify();
    expect(result.ok).toBe(false);
    expect(result.firstError).toMatchObject({ seq: target });
    expect(result.firstError!.what).toMatch(/^signature/);
    expect(cli.stderr[0]).toMatch(new RegExp(`^FAILED at seq ${target}: signature`));
    await restoreRows([target]);
    expect((await exportAndVerify()).result.ok).toBe(true);
  });

  it("a record deleted: the gap is named", async () => {
    const gone = A + 9;
    await bypass(() => db().deleteFrom("audit_log").where("seq", "=", gone).execute());
    const { result } = await exportAndVerify();
    expect(result.ok).toBe(false);
    expect(result.firstError).toMatchObject({ seq: gone });
    expect(result.firstError!.what).toContain(`seq ${gone} is missing`);
    await restoreRows([gone]);
    expect((await exportAndVerify()).result.ok).toBe(true);
  });

  it("two records swapped (sequence numbers kept): named at the first of them", async () => {
    // Two outcome records trade places: each is validly signed, but the order is not the log's.
    const [o1, o2] = [A + 3, A + 5];
    await bypass(async () => {
      await setEnvelope(o1, rows[o2]!.envelope, rows[o2]!.leaf_hash);
      await setEnvelope(o2, rows[o1]!.envelope, rows[o1]!.leaf_hash);
    });
    const { result } = await exportAndVerify();
    expect(result.ok).toBe(false);
    expect(result.firstError!.seq).toBe(o1);
    await restoreRows([o1, o2]);
    // Two decision records swapped: the Merkle root of the checkpoint covering them breaks.
    const [d1, d2] = [A + 8, A + 10];
    await bypass(async () => {
      await setEnvelope(d1, rows[d2]!.envelope, rows[d2]!.leaf_hash);
      await setEnvelope(d2, rows[d1]!.envelope, rows[d1]!.leaf_hash);
    });
    const swapped = (await exportAndVerify()).result;
    expect(swapped.ok).toBe(false);
    // Named within the swapped span: the outcome after the first swapped decision now precedes its decision.
    expect(swapped.firstError!.seq).toBeGreaterThanOrEqual(d1);
    expect(swapped.firstError!.seq).toBeLessThanOrEqual(d2);
    await restoreRows([d1, d2]);
    expect((await exportAndVerify()).result.ok).toBe(true);
  });

  it("the tail cut after a checkpoint: the checkpoint vouches for records the export lacks", async () => {
    const sizes = (await db().selectFrom("audit_checkpoints").select("size").orderBy("size").execute()).map(
      (r) => Number(r.size),
    );
    const cut = sizes.find((s) => s > A && s < A + 16)!;
    expect(cut).toBeGreaterThan(0);
    await bypass(() => db().deleteFrom("audit_log").where("seq", ">=", cut).execute());
    const { result, cli } = await exportAndVerify();
    expect(result.ok).toBe(false);
    expect(result.records).toBe(cut);
    expect(result.firstError).toMatchObject({ seq: cut });
    expect(result.firstError!.what).toMatch(
      new RegExp(`but the export has ${cut}: seq ${cut}\\.\\.\\d+ are missing`),
    );
    expect(cli.stderr[0]).toContain(`FAILED at seq ${cut}`);
    await restoreRows(rows.map((r) => Number(r.seq)).filter((s) => s >= cut));
    expect((await exportAndVerify()).result.ok).toBe(true);
  });

  it("a forged checkpoint (edited root, or signed by an unknown key) is named", async () => {
    const [first] = await db().selectFrom("audit_checkpoints").selectAll().orderBy("size").limit(1).execute();
    const note = first!.signed_note;
    const lines = note.split("\n");
    // Edited: the root line replaced, the log's signature kept.
    const edited = [lines[0], lines[1], toBase64(new Uint8Array(32).fill(7)), ...lines.slice(3)].join("\n");
    const set = (signed_note: string) =>
      db().updateTable("audit_checkpoints").set({ signed_note }).where("size", "=", first!.size).execute();
    await set(edited);
    let r = (await exportAndVerify()).result;
    expect(r.ok).toBe(false);
    expect(r.firstError).toMatchObject({ checkpoint: 0 });
    expect(r.firstError!.what).toMatch(/^checkpoint 0: /);
    // Signed by a key the log never published, over a root that is not the log's.
    const stranger = generateSigningKey();
    await set(
      signCheckpoint(
        {
          origin: t.app.config.audit.checkpointOrigin,
          size: Number(first!.size),
          rootHash: new Uint8Array(32),
        },
        stranger,
      ),
    );
    r = (await exportAndVerify()).result;
    expect(r.ok).toBe(false);
    expect(r.firstError).toMatchObject({ checkpoint: 0 });
    await set(note);
    expect((await exportAndVerify()).result.ok).toBe(true);
  });

  it("a record re-signed by an unknown key: named at its seq", async () => {
    const target = 12;
    const env = JSON.parse(rows[target]!.envelope) as DsseEnvelope;
    const stranger = generateSigningKey();
    const resigned = signEnvelope(fromBase64(env.payload), stranger);
    await bypass(() => setEnvelope(target, JSON.stringify(resigned), entryLeafHash(resigned)));
    const { result } = await exportAndVerify();
    expect(result.ok).toBe(false);
    expect(result.firstError).toMatchObject({ seq: target });
    expect(result.firstError!.what).toContain(stranger.keyId);
    await restoreRows([target]);
    expect((await exportAndVerify()).result.ok).toBe(true);
  });
});
