import { mkdtemp, readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { create, fromBinary, type MessageInitShape, toBinary } from "@bufbuild/protobuf";
import * as grpc from "@grpc/grpc-js";
import OpenAI from "openai";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { type DsseEnvelope, envelopePayload } from "../../src/audit/dsse.js";
import {
  type EmbedRequest,
  EmbedRequestSchema,
  type EmbedResponse,
  EmbedResponseSchema,
  RouterService,
} from "../../src/gen/sovereign/v1/router_pb.js";
import type { DecisionRecordV1, OutcomeRecordV1 } from "../../src/routing/decision-record.js";
import { DEFAULT_DIMENSIONS, simulatedEmbedding } from "../../src/simulator/embeddings.js";
import { appDatabases, REPO, type TestApp } from "../support/app.js";
import { lastDecisionId, outcomeOf, startRoutingApp } from "../support/routing-app.js";

/**
 * Embeddings end to end (issue 13 §4): `POST /v1/embeddings` with the official `openai` SDK and
 * `RouterService.Embed` with a real gRPC client, against a real server, the simulator and both
 * databases. Three embedding endpoints of `sim/embed-small`: vec-eu (ZDR, takes `dimensions`
 * and `user`), vec-us (retains 30 days, takes neither) and vec-dead (connection refused).
 */
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
    supported_parameters: [dimensions, user]
---
provider: vec-us
name: Vectors US
headquarters: US
policy: { retention_days: 30, trains_on_data: false, caching: none, residency: { region: us, country: US } }
endpoints:
  - id: vec-us/embed-small
    model: sim/embed-small
    kind: embedding
    api: openai
    base_url: \${SOVR_SIMULATOR_URL}/vec-us/v1
    pricing: { prompt: 1, completion: 0 }
    context_length: 8192
---
provider: vec-dead
name: Vectors Dead
headquarters: FR
policy: { retention_days: 0, trains_on_data: false, caching: none, residency: { region: eu, country: FR } }
endpoints:
  - id: vec-dead/embed-small
    model: sim/embed-small
    kind: embedding
    api: openai
    base_url: \${SIM_DEAD_URL}/v1
    pricing: { prompt: 0.5, completion: 0 }
    context_length: 8192
    supported_parameters: [dimensions, user]
`;

/** Never to be found in a log or a record: only its count and size may be. */
const CANARY = "EMBED-CANARY-7f3a9c1e-the-input-text";

/** A signed record of the log, by decision id and kind. */
async function recordOf<T>(t: TestApp, decisionId: string, kind: "decision" | "outcome"): Promise<T> {
  if (kind === "outcome") return (await outcomeOf(t, decisionId)) as T;
  await t.app.audit.settled();
  const row = await t.app.db.db
    .selectFrom("audit_log")
    .select("envelope")
    .where("decision_id", "=", decisionId)
    .where("kind", "=", kind)
    .executeTakeFirstOrThrow();
  return JSON.parse(new TextDecoder().decode(envelopePayload(JSON.parse(row.envelope) as DsseEnvelope))) as T;
}

/** Embed over gRPC with @grpc/grpc-js, keeping the response headers. */
function embedRpc(
  address: string,
  req: MessageInitShape<typeof EmbedRequestSchema>,
): Promise<{ res: EmbedResponse; headers: grpc.Metadata }> {
  const client = new grpc.Client(address, grpc.credentials.createInsecure());
  return new Promise((resolve, reject) => {
    let headers = new grpc.Metadata();
    const call = client.makeUnaryRequest(
      `/${RouterService.typeName}/${RouterService.method.embed.name}`,
      (m: EmbedRequest) => Buffer.from(toBinary(EmbedRequestSchema, m)),
      (b: Buffer) => fromBinary(EmbedResponseSchema, b),
      create(EmbedRequestSchema, req),
      new grpc.Metadata(),
      {},
      (err, res) => {
        client.close();
        if (err) reject(err);
        else resolve({ res: res as EmbedResponse, headers });
      },
    );
    call.on("metadata", (md: grpc.Metadata) => {
      headers = md;
    });
  });
}

describe.each(appDatabases)("embeddings (%s)", (database) => {
  let t: TestApp;
  let openai: OpenAI;
  const EU_ONLY = { only: ["vec-eu"] };
  const extra = (o: Record<string, unknown>) => o as object;

  beforeAll(async () => {
    const dir = await mkdtemp(join(tmpdir(), "sovr-embeddings-catalog-"));
    const base = await readFile(join(REPO, "test/fixtures/catalog/simulator.yaml"), "utf8");
    await writeFile(join(dir, "simulator.yaml"), base + EMBEDDINGS);
    t = await startRoutingApp({ database, catalogDir: dir });
    openai = new OpenAI({ baseURL: `${t.app.httpUrl}/v1`, apiKey: "sk-unused-auth-off", maxRetries: 0 });
  });
  afterAll(async () => t?.close());
  beforeEach(() => t.simulator.resetBehaviour());

  const refusal = (p: Promise<unknown>) =>
    p.then(
      () => {
        throw new Error("expected a refusal");
      },
      (e: unknown) => e as InstanceType<typeof OpenAI.APIError>,
    );
  const exclusionsOf = (err: InstanceType<typeof OpenAI.APIError>) =>
    (
      err.error as {
        metadata: { candidates: { endpoint_id: string; exclusions: { stage: string; rule: string }[] }[] };
      }
    ).metadata.candidates;

  it("float: one vector per input, in order, from the simulator; usage, cost, headers and both records", async () => {
    const input = ["first text", `second ${CANARY}`, "third"];
    const { data, response } = await openai.embeddings
      .create({ model: "sim/embed-small", input, encoding_format: "float", ...extra({ provider: EU_ONLY }) })
      .withResponse();
    expect(data.object).toBe("list");
    expect(data.model).toBe("sim/embed-small");
    expect(data.data.map((d) => [d.object, d.index])).toEqual([
      ["embedding", 0],
      ["embedding", 1],
      ["embedding", 2],
    ]);
    input.forEach((text, i) =>
      expect(data.data[i]!.embedding).toEqual(simulatedEmbedding(text, DEFAULT_DIMENSIONS)),
    );
    const promptTokens = input.reduce((n, s) => n + Math.ceil(s.length / 4), 0);
    expect(data.usage).toEqual({
      prompt_tokens: promptTokens,
      total_tokens: promptTokens,
      cost: (promptTokens * 2) / 1e6,
    });
    const id = response.headers.get("x-sovr-decision-id")!;
    expect(response.headers.get("x-sovr-endpoint")).toBe("vec-eu/embed-small");
    expect(response.headers.get("x-sovr-unapplied-parameters")).toBeNull();
    expect(t.simulator.stats("vec-eu").requestIds).toContain(id);

    const decision = await recordOf<DecisionRecordV1>(t, id, "decision");
    expect(decision.request).toMatchObject({
      model: "sim/embed-small",
      message_count: 3,
      operation: "embedding",
    });
    expect(decision.plan).toEqual(["vec-eu/embed-small"]);
    const outcome = await recordOf<OutcomeRecordV1>(t, id, "outcome");
    expect(outcome).toMatchObject({
      outcome: "success",
      endpoint_used: "vec-eu/embed-small",
      usage: { prompt_tokens: promptTokens, completion_tokens: 0 },
      cost_micro_usd: promptTokens * 2,
      error_class: null,
    });
  });

  it("base64 (the SDK's default, decoded by the SDK): the same float32 values; dimensions honoured", async () => {
    const input = "a text to embed";
    const b64 = await openai.embeddings.create({
      model: "sim/embed-small",
      input,
      dimensions: 8,
      ...extra({ provider: EU_ONLY }),
    });
    expect(b64.data).toHaveLength(1);
    expect(b64.data[0]!.embedding).toEqual(simulatedEmbedding(input, 8));
    const raw = await fetch(`${t.app.httpUrl}/v1/embeddings`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        model: "sim/embed-small",
        input,
        dimensions: 8,
        encoding_format: "base64",
        provider: EU_ONLY,
      }),
    });
    const body = (await raw.json()) as { data: { embedding: string }[] };
    const bytes = Buffer.from(body.data[0]!.embedding, "base64");
    expect(bytes.length).toBe(8 * 4);
    expect(Array.from({ length: 8 }, (_, i) => bytes.readFloatLE(i * 4))).toEqual(
      simulatedEmbedding(input, 8),
    );
  });

  it("dimensions is a contract parameter: an endpoint without it is excluded, with that reason", async () => {
    const err = await refusal(
      openai.embeddings.create({
        model: "sim/embed-small",
        input: "x",
        dimensions: 8,
        ...extra({ provider: { only: ["vec-us"] } }),
      }),
    );
    expect(err.status).toBe(403);
    const us = exclusionsOf(err).find((c) => c.endpoint_id === "vec-us/embed-small")!;
    expect(us.exclusions).toContainEqual(expect.objectContaining({ stage: "filter", rule: "parameters" }));
  });

  it("user is advisory: not sent to an endpoint without it, and named as unapplied (header, record)", async () => {
    const { data, response } = await openai.embeddings
      .create({
        model: "sim/embed-small",
        input: "x",
        user: "end-user-1",
        ...extra({ provider: { only: ["vec-us"] } }),
      })
      .withResponse();
    expect(data.data).toHaveLength(1);
    expect(response.headers.get("x-sovr-endpoint")).toBe("vec-us/embed-small");
    expect(response.headers.get("x-sovr-unapplied-parameters")).toBe("user");
    const outcome = await outcomeOf(t, response.headers.get("x-sovr-decision-id")!);
    expect(outcome.unapplied_parameters).toEqual(["user"]);
  });

  it("a policy denial: 403 with the policy's reason, and a denied decision record", async () => {
    // zdr is the organisation's policy to enforce; vec-us retains prompts for 30 days.
    const err = await refusal(
      openai.embeddings.create({
        model: "sim/embed-small",
        input: "x",
        ...extra({ provider: { zdr: true, only: ["vec-us"] } }),
      }),
    );
    expect(err.status).toBe(403);
    expect(err.code).toBe("no_eligible_endpoint");
    const us = exclusionsOf(err).find((c) => c.endpoint_id === "vec-us/embed-small")!;
    expect(us.exclusions).toContainEqual(expect.objectContaining({ stage: "policy", rule: "zdr" }));
    const id = err.headers?.get("x-sovr-decision-id") ?? (await lastDecisionId(t));
    const decision = await recordOf<DecisionRecordV1>(t, id, "decision");
    expect(decision.request.operation).toBe("embedding");
    expect(decision.plan).toEqual([]);
  });

  it.each([
    ["connection refused", "vec-dead", undefined, "connect", null],
    ["HTTP 503", "vec-eu", { kind: "status", status: 503 } as const, "server", 503],
    ["HTTP 429", "vec-eu", { kind: "status", status: 429 } as const, "rate_limited", 429],
  ])(
    "fails over on %s to the next embedding endpoint; both attempts recorded",
    async (_n, first, fault, errorClass, status) => {
      if (fault) t.simulator.setBehaviour(first, { fault });
      const second = first === "vec-dead" ? "vec-eu" : "vec-us";
      const { data, response } = await openai.embeddings
        .create({
          model: "sim/embed-small",
          input: ["one", "two"],
          ...extra({ provider: { order: [first, second], only: [first, second] } }),
        })
        .withResponse();
      expect(data.data).toHaveLength(2);
      expect(response.headers.get("x-sovr-endpoint")).toBe(`${second}/embed-small`);
      const outcome = await outcomeOf(t, response.headers.get("x-sovr-decision-id")!);
      expect(outcome.outcome).toBe("success");
      expect(outcome.attempts.map((a) => [a.endpoint_id, a.error_class, a.status])).toEqual([
        [`${first}/embed-small`, errorClass, status],
        [`${second}/embed-small`, null, 200],
      ]);
    },
  );

  it("every endpoint down: 503, a failed outcome record", async () => {
    t.simulator.setBehaviour("vec-eu", { fault: { kind: "status", status: 500 } });
    const err = await refusal(
      openai.embeddings.create({
        model: "sim/embed-small",
        input: "x",
        ...extra({ provider: { only: ["vec-eu", "vec-dead"] } }),
      }),
    );
    expect(err.status).toBe(503);
    const outcome = await outcomeOf(t, err.headers!.get("x-sovr-decision-id")!);
    expect(outcome).toMatchObject({ outcome: "failed", endpoint_used: null, usage: null });
    expect(outcome.attempts).toHaveLength(2);
  });

  it("GET /v1/models lists the embedding model beside the chat models", async () => {
    const ids = (await openai.models.list()).data.map((m) => m.id);
    expect(ids).toEqual(["sim/chat-large", "sim/chat-small", "sim/embed-small"]);
  });

  it("a chat model is refused for embeddings, an embedding model for chat (kind)", async () => {
    const asEmbedding = await refusal(openai.embeddings.create({ model: "sim/chat-small", input: "x" }));
    expect(asEmbedding.status).toBe(403);
    for (const c of exclusionsOf(asEmbedding))
      expect(c.exclusions).toContainEqual(expect.objectContaining({ stage: "filter", rule: "kind" }));
    const asChat = await refusal(
      openai.chat.completions.create({
        model: "sim/embed-small",
        messages: [{ role: "user", content: "x" }],
      }),
    );
    expect(asChat.status).toBe(403);
    for (const c of exclusionsOf(asChat))
      expect(c.exclusions).toContainEqual(expect.objectContaining({ stage: "filter", rule: "kind" }));
  });

  it("refuses what it does not honour, naming the field", async () => {
    const create = (body: Record<string, unknown>) =>
      refusal(openai.embeddings.create({ model: "sim/embed-small", input: "x", ...body } as never));
    const cases: [Record<string, unknown>, string][] = [
      [{ input: [1, 2, 3] }, "input[0]"],
      [{ input: [[1, 2]] }, "input[0]"],
      [{ input: [""] }, "input[0]"],
      [{ input: [] }, "input"],
      [{ encoding_format: "int8" }, "encoding_format"],
      [{ dimensions: 0 }, "dimensions"],
      [{ dimensions: 1.5 }, "dimensions"],
      [{ metadata: { a: "b" } }, "metadata"],
      [{ input: Array.from({ length: 2049 }, () => "x") }, "input"],
    ];
    for (const [body, param] of cases) {
      const err = await create(body);
      expect([err.status, err.param, err.type], JSON.stringify(body).slice(0, 80)).toEqual([
        400,
        param,
        "invalid_request_error",
      ]);
    }
  });

  it("RouterService.Embed over gRPC: vectors, route, usage, decision id in the response header", async () => {
    const address = t.app.grpcUrl.replace("http://", "");
    const { res, headers } = await embedRpc(address, {
      model: "sim/embed-small",
      input: ["alpha", "beta"],
      dimensions: 4,
      provider: { only: ["vec-eu"] },
      labels: { team: "search" },
    });
    expect(res.embeddings.map((e) => e.index)).toEqual([0, 1]);
    expect(res.embeddings[0]!.values).toEqual(simulatedEmbedding("alpha", 4));
    expect(res.embeddings[1]!.values).toEqual(simulatedEmbedding("beta", 4));
    expect(res.route).toMatchObject({ endpointId: "vec-eu/embed-small", provider: "vec-eu", attempt: 1 });
    expect(headers.get("x-sovr-decision-id")).toEqual([res.route!.decisionId]);
    const tokens = 2 + 1;
    expect(res.usage).toMatchObject({
      promptTokens: tokens,
      completionTokens: 0,
      totalTokens: tokens,
      costMicroUsd: BigInt(tokens * 2),
    });
    const decision = await recordOf<DecisionRecordV1>(t, res.route!.decisionId, "decision");
    expect(decision.request).toMatchObject({
      operation: "embedding",
      message_count: 2,
      labels: { team: "search" },
    });
    expect(decision.request.parameters).toContain("dimensions");

    const us = await embedRpc(address, {
      model: "sim/embed-small",
      input: ["x"],
      user: "u1",
      provider: { only: ["vec-us"] },
    });
    expect(us.res.route?.unappliedParameters).toEqual(["user"]);
    expect(us.headers.get("x-sovr-unapplied-parameters")).toEqual(["user"]);

    const refused = await embedRpc(address, { model: "sim/chat-small", input: ["x"] }).catch(
      (e: grpc.ServiceError) => e,
    );
    expect((refused as grpc.ServiceError).code).toBe(grpc.status.FAILED_PRECONDITION);
    const empty = await embedRpc(address, { model: "sim/embed-small", input: [] }).catch(
      (e: grpc.ServiceError) => e,
    );
    expect((empty as grpc.ServiceError).code).toBe(grpc.status.INVALID_ARGUMENT);
    expect((empty as grpc.ServiceError).details).toContain("input");
  });

  it("the input text is in no log and no record", async () => {
    await t.app.audit.settled();
    const rows = await t.app.db.db.selectFrom("audit_log").select("envelope").execute();
    expect(rows.length).toBeGreaterThan(0);
    const payloads = rows.map((r) =>
      new TextDecoder().decode(envelopePayload(JSON.parse(r.envelope) as DsseEnvelope)),
    );
    expect(payloads.filter((p) => p.includes("CANARY"))).toEqual([]);
    expect(t.logs.filter((l) => l.includes("CANARY"))).toEqual([]);
  });
});
