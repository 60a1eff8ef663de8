/**
 * Receipts for the caller (issue 14 §5, docs/audit.md §9) against a real server: every routed
 * answer — chat completions (plain and streamed), responses, the Messages API, embeddings over
 * HTTP with the official SDKs; Chat, ChatStream and Embed over gRPC (@grpc/grpc-js: header and
 * trailer) and Connect — and every refusal carries the receipt of its decision record, which
 * verifies offline against the pinned keys and the record; a tampered one fails. Then
 * GetInclusionProof / `sovr audit prove` (NotFound until a checkpoint covers the record) and
 * `sovr audit get`.
 */
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Anthropic from "@anthropic-ai/sdk";
import { create, type DescMessage, type DescMethod, fromBinary, toBinary } from "@bufbuild/protobuf";
import * as grpc from "@grpc/grpc-js";
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type DsseEnvelope,
  fromPublishedKey,
  KeyRing,
  parseReceipt,
  verifyReceipt,
} from "../../src/audit/index.js";
import { auditClient } from "../../src/cli/audit-commands.js";
import { getCommand } from "../../src/cli/audit-get.js";
import { proveCommand, receiptVerifyCommand } from "../../src/cli/audit-receipts.js";
import { keysCommand } from "../../src/cli/audit-trust.js";
import { serverClient } from "../../src/cli/connect-client.js";
import { RouterService } from "../../src/gen/sovereign/v1/router_pb.js";
import { appDatabases, REPO, type TestApp } from "../support/app.js";
import { startRoutingApp } from "../support/routing-app.js";

const EMBEDDINGS = `
---
provider: vec-eu
name: Vectors EU
headquarters: FR
policy: { retention_days: 0, trains_on_data: false, caching: none, residency: { region: eu, country: FR } }
endpoints:
  - id: vec-eu/embed-small
    model: sim/embed-small
    kind: embedding
    api: openai
    base_url: \${SOVR_SIMULATOR_URL}/vec-eu/v1
    pricing: { prompt: 2, completion: 0 }
    context_length: 8192
`;

/** In prompts only: never in a receipt. */
const CANARY = "RECEIPT-CANARY-4b1d";
const EU = { region: "eu", provider: { only: ["sim-eu"] } } as object;

/** A gRPC call with @grpc/grpc-js, keeping the response headers, the trailers and the status. */
function grpcCall(
  address: string,
  method: DescMethod & { input: DescMessage; output: DescMessage },
  req: object,
): Promise<{ headers: grpc.Metadata; trailers: grpc.Metadata; code: grpc.status }> {
  const client = new grpc.Client(address, grpc.credentials.createInsecure());
  const path = `/${RouterService.typeName}/${method.name}`;
  const ser = (m: never) => Buffer.from(toBinary(method.input, m));
  const de = (b: Buffer) => fromBinary(method.output, b);
  return new Promise((resolve) => {
    let headers = new grpc.Metadata();
    const done = (s: grpc.StatusObject) => {
      client.close();
      resolve({ headers, trailers: s.metadata, code: s.code });
    };
    const call =
      method.methodKind === "server_streaming"
        ? client.makeServerStreamRequest(
            path,
            ser,
            de,
            create(method.input, req as never) as never,
            new grpc.Metadata(),
          )
        : client.makeUnaryRequest(
            path,
            ser,
            de,
            create(method.input, req as never) as never,
            new grpc.Metadata(),
            () => {},
          );
    if ("on" in call && method.methodKind === "server_streaming") call.on("data", () => {});
    call.on("error", () => {});
    call.on("metadata", (md: grpc.Metadata) => {
      headers = md;
    });
    call.on("status", done);
  });
}

describe.each(appDatabases)("receipts (%s)", (database) => {
  let t: TestApp;
  let dir: string;
  let pinnedFile: string;
  let trusted: { ring: KeyRing; origin: string };
  let openai: OpenAI;

  /** The decision record's envelope as the log holds it (what an export carries). */
  const envelopeOf = async (decisionId: string): Promise<DsseEnvelope> => {
    await t.app.audit.settled();
    const row = await t.app.db.db
      .selectFrom("audit_log")
      .select("envelope")
      .where("decision_id", "=", decisionId)
      .where("kind", "=", "decision")
      .executeTakeFirstOrThrow();
    return JSON.parse(row.envelope) as DsseEnvelope;
  };
  /** Checks `receipt` is the decision's (named by `decisionId`), offline against the pinned keys. */
  const expectVerifies = async (
    receipt: string | null | undefined,
    decisionId: string | null | undefined,
  ) => {
    expect(receipt, "receipt").toMatch(/^v1\./);
    expect(receipt).not.toContain(CANARY);
    const r = parseReceipt(receipt!);
    expect(r.decisionId).toBe(decisionId);
    expect(r.origin).toBe(trusted.origin);
    const v = verifyReceipt(receipt!, { envelope: await envelopeOf(r.decisionId) }, trusted);
    expect(v.ok ? "" : v.what).toBe("");
  };

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "sovr-receipts-"));
    const base = await readFile(join(REPO, "test/fixtures/catalog/simulator.yaml"), "utf8");
    await writeFile(join(dir, "simulator.yaml"), base + EMBEDDINGS);
    // No checkpoint but the ones a test asks for: GetInclusionProof must wait for one.
    t = await startRoutingApp({
      database,
      catalogDir: dir,
      env: { SOVR_CHECKPOINT_EVERY: "100000", SOVR_CHECKPOINT_INTERVAL_MS: "3600000" },
    });
    openai = new OpenAI({ baseURL: `${t.app.httpUrl}/v1`, apiKey: "sk-unused-auth-off", maxRetries: 0 });
    pinnedFile = join(dir, "pinned.json");
    expect((await keysCommand(auditClient({ url: t.app.httpUrl }), { out: pinnedFile })).exitCode).toBe(0);
    const pin = JSON.parse(await readFile(pinnedFile, "utf8")) as { origin: string; keys: never[] };
    trusted = { ring: new KeyRing(pin.keys.map(fromPublishedKey)), origin: pin.origin };
  });
  afterAll(async () => {
    await t?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it("every HTTP surface's answer carries its decision's receipt, which verifies offline against the pinned keys", async () => {
    const messages = [{ role: "user" as const, content: `hello ${CANARY}` }];
    const chat = await openai.chat.completions
      .create({ model: "sim/chat-small", messages, ...EU })
      .withResponse();
    await expectVerifies(
      chat.response.headers.get("x-sovr-receipt"),
      chat.response.headers.get("x-sovr-decision-id"),
    );

    const streamed = await openai.chat.completions
      .create({ model: "sim/chat-small", messages, stream: true, ...EU })
      .withResponse();
    for await (const _ of streamed.data);
    await expectVerifies(
      streamed.response.headers.get("x-sovr-receipt"),
      streamed.response.headers.get("x-sovr-decision-id"),
    );

    const responses = await openai.responses
      .create({ model: "sim/chat-small", input: `hi ${CANARY}`, ...EU })
      .withResponse();
    await expectVerifies(
      responses.response.headers.get("x-sovr-receipt"),
      responses.response.headers.get("x-sovr-decision-id"),
    );

    const embeddings = await openai.embeddings
      .create({ model: "sim/embed-small", input: [CANARY], ...({ region: "eu" } as object) })
      .withResponse();
    await expectVerifies(
      embeddings.response.headers.get("x-sovr-receipt"),
      embeddings.response.headers.get("x-sovr-decision-id"),
    );

    const anthropic = new Anthropic({ baseURL: t.app.httpUrl, apiKey: "sk-unused-auth-off", maxRetries: 0 });
    const message = await anthropic.messages
      .create({ model: "sim/chat-small", max_tokens: 16, messages, ...EU })
      .withResponse();
    await expectVerifies(
      message.response.headers.get("x-sovr-receipt"),
      message.response.headers.get("x-sovr-decision-id"),
    );
  });

  it("a refusal carries the receipt of its denial record (HTTP and gRPC)", async () => {
    const denied = { region: "eu", provider: { only: ["sim-us"] } };
    const err = await openai.chat.completions
      .create({
        model: "sim/chat-small",
        messages: [{ role: "user", content: CANARY }],
        ...(denied as object),
      })
      .then(
        () => undefined,
        (e: unknown) => e as InstanceType<typeof OpenAI.APIError>,
      );
    expect(err?.status).toBe(403);
    await expectVerifies(err!.headers!.get("x-sovr-receipt"), err!.headers!.get("x-sovr-decision-id"));

    const address = `127.0.0.1:${t.app.servers.grpcPort}`;
    const g = await grpcCall(address, RouterService.method.chat, {
      model: "sim/chat-small",
      messages: [{ role: "user", content: "hi" }],
      ...denied,
    });
    expect(g.code).toBe(grpc.status.FAILED_PRECONDITION);
    const receipt = (g.trailers.get("x-sovr-receipt")[0] ?? g.headers.get("x-sovr-receipt")[0]) as string;
    await expectVerifies(receipt, g.trailers.get("x-sovr-decision-id")[0] as string);
  });

  it("Chat, ChatStream and Embed over gRPC carry it as a header and a trailer; Connect too", async () => {
    const address = `127.0.0.1:${t.app.servers.grpcPort}`;
    const chatReq = { model: "sim/chat-small", region: "eu", messages: [{ role: "user", content: CANARY }] };
    for (const [method, req] of [
      [RouterService.method.chat, chatReq],
      [RouterService.method.chatStream, chatReq],
      [RouterService.method.embed, { model: "sim/embed-small", region: "eu", input: [CANARY] }],
    ] as const) {
      const r = await grpcCall(address, method, req);
      expect(r.code, method.name).toBe(grpc.status.OK);
      const header = r.headers.get("x-sovr-receipt")[0] as string;
      expect(r.trailers.get("x-sovr-receipt")[0], method.name).toBe(header);
      await expectVerifies(header, r.headers.get("x-sovr-decision-id")[0] as string);
    }
    let header: string | null = null;
    let trailer: string | null = null;
    await serverClient(RouterService, { url: t.app.httpUrl }).chat(chatReq, {
      onHeader: (h) => {
        header = h.get("x-sovr-receipt");
      },
      onTrailer: (h) => {
        trailer = h.get("x-sovr-receipt");
      },
    });
    expect(trailer).toBe(header);
    await expectVerifies(header, parseReceipt(header!).decisionId);
  });

  it("sovr audit receipt verify: OK for the record (file or fetched), FAILED for a tampered receipt or unpinned keys", async () => {
    const { response } = await openai.chat.completions
      .create({ model: "sim/chat-small", messages: [{ role: "user", content: "hi" }], ...EU })
      .withResponse();
    const receipt = response.headers.get("x-sovr-receipt")!;
    const id = response.headers.get("x-sovr-decision-id")!;
    const recordFile = join(dir, `${id}.json`);
    await writeFile(recordFile, JSON.stringify({ envelope: await envelopeOf(id) }));
    const url = t.app.httpUrl;

    const ok = await receiptVerifyCommand(receipt, { record: recordFile, trustedKeys: pinnedFile, url });
    expect(ok.stderr).toEqual([]);
    expect(ok.stdout[0]).toMatch(new RegExp(`^OK: receipt of decision ${id} \\(seq \\d+, log `));
    const fetched = await receiptVerifyCommand(receipt, { decision: id, trustedKeys: pinnedFile, url });
    expect(fetched.stdout[0]).toMatch(/; in the log under checkpoint size \d+$/);

    // One character of the signature changed: not the record's signature.
    const parts = receipt.split(".");
    parts[5] = (parts[5]![0] === "A" ? "B" : "A") + parts[5]!.slice(1);
    const tampered = await receiptVerifyCommand(parts.join("."), {
      record: recordFile,
      trustedKeys: pinnedFile,
    });
    expect(tampered.exitCode).toBe(1);
    expect(tampered.stderr).toEqual(["FAILED: receipt: its signature is not the record's signature"]);
    // The receipt of another decision against this record.
    const other = (
      await openai.chat.completions
        .create({ model: "sim/chat-small", messages: [{ role: "user", content: "hi" }], ...EU })
        .withResponse()
    ).response.headers.get("x-sovr-receipt")!;
    expect(
      (await receiptVerifyCommand(other, { record: recordFile, trustedKeys: pinnedFile })).exitCode,
    ).toBe(1);
    // Without pinned keys: refused, saying how to pin them.
    const unpinned = await receiptVerifyCommand(receipt, { record: recordFile });
    expect(unpinned.exitCode).toBe(2);
    expect(unpinned.stderr[0]).toMatch(/--trusted-keys FILE is required/);
  });

  it("GetInclusionProof / sovr audit prove: NotFound until a checkpoint covers the record, then proven against pinned keys", async () => {
    const { response } = await openai.chat.completions
      .create({ model: "sim/chat-small", messages: [{ role: "user", content: "hi" }], ...EU })
      .withResponse();
    const receipt = response.headers.get("x-sovr-receipt")!;
    const id = response.headers.get("x-sovr-decision-id")!;
    const o = { url: t.app.httpUrl, trustedKeys: pinnedFile };
    await t.app.audit.drain();
    const early = await auditClient({ url: t.app.httpUrl })
      .getInclusionProof({ decisionId: id })
      .then(
        () => undefined,
        (e: unknown) => e as Error,
      );
    expect(early?.message).toMatch(
      new RegExp(`\\[not_found\\] decision ${id} \\(seq \\d+\\) is not covered by a signed checkpoint yet`),
    );

    await t.app.checkpointer.checkpoint();
    const proved = await proveCommand(id, { ...o, receipt });
    expect(proved.stderr).toEqual([]);
    expect(proved.stdout[0]).toMatch(
      new RegExp(
        `^OK: decision ${id} is entry ${parseReceipt(receipt).seq} .* signed by a pinned key; the receipt's leaf hash and seq are the log's$`,
      ),
    );
    const json = JSON.parse((await proveCommand(id, { ...o, json: true })).stdout[0]!) as Record<
      string,
      unknown
    >;
    expect(json).toMatchObject({ decision_id: id, seq: parseReceipt(receipt).seq, verified: true });
    expect(json.checkpoint).toMatch(/^sovereign-router\.local\/audit\n/);

    // Another decision's receipt, and keys of another log.
    const stranger = join(dir, "stranger.json");
    const pin = JSON.parse(await readFile(pinnedFile, "utf8")) as { keys: { key_id: string }[] };
    const { generateSigningKey, exportKeys } = await import("../../src/audit/index.js");
    const k = generateSigningKey();
    await writeFile(
      stranger,
      JSON.stringify(
        exportKeys(trusted.origin, [
          { keyId: k.keyId, publicKeyRaw: k.publicKeyRaw, validFromUs: 0, validUntilUs: null },
        ]),
      ),
    );
    const foreign = await proveCommand(id, { url: t.app.httpUrl, trustedKeys: stranger });
    expect(foreign.exitCode).toBe(1);
    expect(foreign.stderr[0]).toMatch(/^FAILED: checkpoint: /);
    expect(pin.keys.length).toBeGreaterThan(0);
  });

  it("sovr audit get ID: the record decoded, signature and inclusion proof verified (pinned or published keys)", async () => {
    const { response } = await openai.chat.completions
      .create({ model: "sim/chat-small", messages: [{ role: "user", content: `hi ${CANARY}` }], ...EU })
      .withResponse();
    const id = response.headers.get("x-sovr-decision-id")!;
    const url = t.app.httpUrl;
    const pinned = await getCommand(id, { url, trustedKeys: pinnedFile, json: true });
    expect(pinned.exitCode).toBe(0);
    const out = JSON.parse(pinned.stdout[0]!) as {
      decision: { seq: number; record: { decision_id: string; kind: string }; envelope: DsseEnvelope };
      verified: { keys: string; signature_and_inclusion: string };
    };
    expect(out.decision.record).toMatchObject({ decision_id: id, kind: "decision" });
    expect(out.verified).toMatchObject({
      keys: "pinned",
      signature_and_inclusion: expect.stringMatching(/^checkpoint size \d+$/),
    });
    expect(pinned.stdout[0]).not.toContain(CANARY);
    // What get --json prints is a record file for receipt verify.
    const file = join(dir, "get.json");
    await writeFile(file, pinned.stdout[0]!);
    const receipt = response.headers.get("x-sovr-receipt")!;
    expect((await receiptVerifyCommand(receipt, { record: file, trustedKeys: pinnedFile })).exitCode).toBe(0);

    const published = await getCommand(id, { url });
    expect(published.exitCode).toBe(0);
    expect(published.stdout[0]).toMatch(/verified against the keys the service publishes/);
    expect(published.stdout.join("\n")).toContain(`"decision_id": "${id}"`);
  });
});
