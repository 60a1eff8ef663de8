import { rm } from "node:fs/promises";
import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError, createContextValues, type HandlerContext } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AuditServiceImpl } from "../../src/api/grpc/audit-service.js";
import type { Checkpointer } from "../../src/audit/checkpointer.js";
import { verifyCheckpointConsistency, verifyEntryInclusion } from "../../src/audit/proofs.js";
import { queryCommand, verifyCommand } from "../../src/cli/audit-commands.js";
import { toBase64 } from "../../src/encoding/base64.js";
import { ExportDecisionsRequestSchema, Outcome, RecordKind } from "../../src/gen/sovereign/v1/audit_pb.js";
import type { Replayer } from "../../src/replay/replay.js";
import { appDatabases, startTestApp, type TestApp } from "../support/app.js";
import { auditor, chat, exportLog, trustedKeys } from "../support/audit-live.js";
import { GrpcJsClient } from "../support/grpc.js";

async function rpcError(p: Promise<unknown>): Promise<ConnectError> {
  try {
    await p;
  } catch (err) {
    return ConnectError.from(err);
  }
  throw new Error("expected the call to fail");
}

function envelopeJson(e: {
  payloadType: string;
  payload: Uint8Array;
  signatures: { keyid: string; sig: Uint8Array }[];
}) {
  return {
    payloadType: e.payloadType,
    payload: toBase64(e.payload),
    signatures: e.signatures.map((s) => ({ keyid: s.keyid, sig: toBase64(s.sig) })),
  };
}

describe.each(appDatabases)("AuditService on a live log (%s)", (database) => {
  let t: TestApp;
  let grpc: GrpcJsClient;
  const ids: string[] = [];
  beforeAll(async () => {
    // Checkpoint every 4 records, so a handful of requests leaves several checkpoints.
    t = await startTestApp({
      database,
      env: { SOVR_CHECKPOINT_EVERY: "4", SOVR_CHECKPOINT_INTERVAL_MS: "60000" },
    });
    grpc = new GrpcJsClient(`127.0.0.1:${t.app.servers.grpcPort}`);
    for (let i = 0; i < 7; i++) ids.push(await chat(grpc, `request ${i}`));
    await t.app.audit.drain();
  });
  afterAll(async () => {
    grpc?.close();
    await t?.close();
  });

  it("queries decisions with filters and opaque page tokens; a bad token is InvalidArgument on page_token", async () => {
    const client = auditor(t);
    const seen: string[] = [];
    let pageToken = "";
    let pages = 0;
    do {
      const page = await client.queryDecisions({ pageSize: 3, pageToken, model: "sim/chat-small" });
      seen.push(...page.decisions.map((d) => d.decisionId));
      pageToken = page.nextPageToken;
      pages++;
    } while (pageToken);
    expect(pages).toBe(3);
    expect(seen).toEqual(ids);
    const first = (await client.queryDecisions({})).decisions[0]!;
    expect(first.tenant).toBeTruthy();
    expect(first.endpointId).toBe("sim-eu/chat-small");

    const byOutcome = await client.queryDecisions({ outcome: Outcome.SUCCESS });
    expect(byOutcome.decisions.map((d) => d.decisionId)).toEqual(ids);
    expect(byOutcome.decisions.every((d) => d.outcomeSeq !== undefined)).toBe(true);
    expect((await client.queryDecisions({ outcome: Outcome.DENIED })).decisions).toEqual([]);
    // With auth off there are no walls (local use): the one caller may filter by any tenant.
    // The walls with auth on: test/e2e/auth-matrix.test.ts.
    expect((await client.queryDecisions({ tenant: "nobody" })).decisions).toEqual([]);
    expect((await client.queryDecisions({ endpointId: "sim-us/chat-small" })).decisions).toEqual([]);
    const rev = first.policyRevision;
    expect((await client.queryDecisions({ policyRevision: rev })).decisions).toHaveLength(ids.length);
    expect((await client.queryDecisions({ policyRevision: "other" })).decisions).toHaveLength(0);
    const future = timestampFromDate(new Date(Date.now() + 3_600_000));
    expect((await client.queryDecisions({ startTime: future })).decisions).toEqual([]);
    expect((await client.queryDecisions({ endTime: future })).decisions).toHaveLength(ids.length);

    for (const token of ["garbage!", Buffer.from('{"t":"x"}').toString("base64url")]) {
      const err = await rpcError(client.queryDecisions({ pageToken: token }));
      expect(err.code).toBe(Code.InvalidArgument);
      expect(err.rawMessage).toContain("page_token");
    }
    const err = await rpcError(
      client.queryDecisions({ startTime: future, endTime: timestampFromDate(new Date()) }),
    );
    expect(err.code).toBe(Code.InvalidArgument);
    expect(err.rawMessage).toContain("end_time");

    const cli = await queryCommand({ url: t.app.httpUrl, json: true });
    expect(cli.stdout.map((l) => JSON.parse(l).decision_id)).toEqual(ids);
    const table = await queryCommand({ url: t.app.httpUrl, limit: 2 });
    expect(table.stdout[0]).toMatch(/^TIME\s+DECISION/);
    expect(table.stdout.at(-1)).toBe("2 decisions (more match; raise --limit)");
  });

  it("serves a decision with its outcome, envelopes and inclusion proofs a client verifies", async () => {
    const { ring, origin } = await trustedKeys(t);
    // The newest decision is past the last every-4 checkpoint: GetDecision signs a fresh one.
    const before = await auditor(t).getCheckpoint({});
    const res = await auditor(t).getDecision({ decisionId: ids.at(-1)! });
    expect(res.decision!.kind).toBe(RecordKind.DECISION);
    expect(res.outcome!.kind).toBe(RecordKind.OUTCOME);
    const cp = res.checkpoint!;
    expect(cp.size).toBeGreaterThan(res.outcome!.seq);
    expect(cp.size).toBeGreaterThanOrEqual(before.checkpoint!.size);
    for (const [entry, proof] of [
      [res.decision!, res.decisionProof!],
      [res.outcome!, res.outcomeProof!],
    ] as const) {
      expect(proof.treeSize).toBe(cp.size);
      const check = verifyEntryInclusion({
        envelope: envelopeJson(entry.envelope!),
        seq: Number(entry.seq),
        proof: proof.hashes,
        checkpoint: cp.signedNote,
        origin,
        ring,
      });
      expect(check.ok).toBe(true);
    }
    // A proof for another leaf index does not verify: the check is real.
    const wrong = verifyEntryInclusion({
      envelope: envelopeJson(res.decision!.envelope!),
      seq: Number(res.outcome!.seq),
      proof: res.decisionProof!.hashes,
      checkpoint: cp.signedNote,
      origin,
      ring,
    });
    expect(wrong.ok).toBe(false);

    const missing = await rpcError(
      auditor(t).getDecision({ decisionId: "0190c0de-0000-7000-8000-000000000000" }),
    );
    expect(missing.code).toBe(Code.NotFound);
    const empty = await rpcError(auditor(t).getDecision({ decisionId: "" }));
    expect(empty.code).toBe(Code.InvalidArgument);
  });

  it("serves checkpoints (latest, by size) and consistency proofs between them", async () => {
    const client = auditor(t);
    const { ring, origin } = await trustedKeys(t);
    // How many checkpoints the every-4 count left depends on how signings overlapped the
    // requests; one more request and a signing make sure there are two sizes to prove between.
    await chat(grpc, "one more");
    await t.app.audit.drain();
    await t.app.checkpointer.checkpoint();
    const latest = (await client.getCheckpoint({})).checkpoint!;
    const sizes = (
      await t.app.db.db.selectFrom("audit_checkpoints").select("size").orderBy("size").execute()
    ).map((r) => Number(r.size));
    expect(sizes.length).toBeGreaterThanOrEqual(2);
    expect(sizes[0]).toBeLessThan(sizes.at(-1)!);
    expect(Number(latest.size)).toBe(sizes.at(-1));
    const older = (await client.getCheckpoint({ size: BigInt(sizes[0]!) })).checkpoint!;
    expect(Number(older.size)).toBe(sizes[0]);
    const proof = await client.getConsistencyProof({ firstSize: older.size, secondSize: latest.size });
    const check = verifyCheckpointConsistency({
      older: older.signedNote,
      newer: latest.signedNote,
      proof: proof.hashes,
      origin,
      ring,
    });
    expect(check.ok).toBe(true);

    expect((await rpcError(client.getCheckpoint({ size: 999_999n }))).code).toBe(Code.NotFound);
    for (const [firstSize, secondSize, field] of [
      [0n, 3n, "first_size"],
      [5n, 3n, "second_size"],
      [1n, 999_999n, "second_size"],
    ] as const) {
      const err = await rpcError(client.getConsistencyProof({ firstSize, secondSize }));
      expect(err.code).toBe(Code.InvalidArgument);
      expect(err.rawMessage).toContain(field);
    }
  });

  it("lists the signing keys with validity and the checkpoint origin", async () => {
    const res = await auditor(t).listSigningKeys({});
    expect(res.checkpointOrigin).toBe(t.app.config.audit.checkpointOrigin);
    expect(res.keys).toHaveLength(1);
    expect(res.keys[0]!.algorithm).toBe("ed25519");
    expect(res.keys[0]!.publicKey).toHaveLength(32);
    expect(res.keys[0]!.validFrom).toBeDefined();
    expect(res.keys[0]!.validUntil).toBeUndefined();
  });

  it("exports through the RPC with a fresh checkpoint, and the export verifies offline", async () => {
    await chat(grpc, "one more");
    await t.app.audit.drain();
    const dir = await exportLog(t);
    try {
      const r = await verifyCommand(dir, { trustExportKeys: true });
      expect(r.exitCode).toBe(0);
      const entries = await t.app.db.db.selectFrom("audit_log").select("seq").execute();
      // Everything exported is covered by a checkpoint, including the newest request.
      expect(r.stdout[0]).toContain(`OK: ${entries.length} records`);
      expect(r.stdout[1]).toMatch(new RegExp(`^checkpointed size ${entries.length}, root `));
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("an export ends at its fresh checkpoint, also when records are committed meanwhile", async () => {
    // The export's fresh checkpoint is taken, then a request is routed and recorded before the
    // export reads the log (as when an outcome record lands in between): the export must stop
    // at the checkpoint, or it would carry records no checkpoint covers.
    const real = t.app.checkpointer;
    const racing = {
      origin: real.origin,
      checkpoint: async () => {
        const fresh = await real.checkpoint();
        await chat(grpc, "meanwhile");
        await t.app.audit.drain();
        return fresh;
      },
    } as unknown as Checkpointer;
    const service = new AuditServiceImpl({ db: t.app.db.db, checkpointer: racing, replayer: {} as Replayer });
    let entries = 0;
    let lastSeq = -1;
    const sizes: number[] = [];
    for await (const x of service.exportDecisions(
      create(ExportDecisionsRequestSchema, {}),
      // The caller is read from the context: the default (auth off) principal.
      { values: createContextValues() } as HandlerContext,
    )) {
      if (x.item.case === "entry") {
        entries++;
        lastSeq = Number(x.item.value.seq);
      } else if (x.item.case === "checkpoint") sizes.push(Number(x.item.value.size));
    }
    await t.app.audit.settled();
    const logSize = (await t.app.db.db.selectFrom("audit_log").select("seq").execute()).length;
    expect(logSize).toBeGreaterThan(entries); // the request in between was recorded…
    expect(lastSeq).toBe(entries - 1);
    expect(Math.max(...sizes)).toBe(entries); // …and left out: the export ends at its checkpoint
  });
});
