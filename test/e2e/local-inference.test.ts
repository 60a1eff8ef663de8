/**
 * In-process local inference (issue 15) with the real SmolLM2-135M-Instruct model through the
 * HTTP API and the `openai` SDK: streaming and not, stop, max_tokens, json_schema output, usage;
 * the decision record names the local endpoint and a catalog revision whose local endpoint
 * carries the model's sha256 and source runtime; with SOVR_LOCATION=DE a request asking for
 * zero data retention in the EU is routed to it. One llama.cpp thread, short generations.
 */
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { decisionEntries } from "../../src/audit/audit-store.js";
import { envelopePayload } from "../../src/audit/dsse.js";
import { type DecisionRecordV2, decodeRecord } from "../../src/audit/record.js";
import { getRevision, snapshotFromCanonical } from "../../src/catalog/index.js";
import { RouterService } from "../../src/gen/sovereign/v1/router_pb.js";
import { startTestApp, type TestApp } from "../support/app.js";
import { GrpcJsClient } from "../support/grpc.js";
import { TEST_MODEL, TEST_MODEL_SHA256, testModelDir, testModelPath } from "../support/local-model.js";

describe("local inference (node-llama-cpp, SmolLM2-135M)", () => {
  let t: TestApp;
  let openai: OpenAI;
  const extra = (o: Record<string, unknown>) => o as object;
  const messages = [{ role: "user" as const, content: "Count from 1 to 10: 1, 2, 3," }];

  beforeAll(async () => {
    testModelPath();
    t = await startTestApp({
      env: {
        SOVR_MODELS_DIR: testModelDir(),
        SOVR_LOCATION: "DE",
        SOVR_LOCAL_THREADS: "1",
        SOVR_LOCAL_SLOTS: "1",
        SOVR_LOCAL_QUEUE_MS: "60000",
      },
    });
    openai = new OpenAI({ baseURL: `${t.app.httpUrl}/v1`, apiKey: "sk-unused-auth-off", maxRetries: 0 });
  });
  afterAll(async () => t?.close());

  it("answers a completion with zdr and region eu; the record pins the model's sha256 with source runtime", async () => {
    const { data, response } = await openai.chat.completions
      .create({
        model: TEST_MODEL,
        messages,
        max_tokens: 8,
        temperature: 0,
        ...extra({ provider: { zdr: true }, region: "eu" }),
      })
      .withResponse();
    expect(response.headers.get("x-sovr-endpoint")).toBe("local/smollm2-135m-instruct");
    expect(data.choices[0]!.message.content!.length).toBeGreaterThan(0);
    expect(data.usage!.prompt_tokens).toBeGreaterThan(5);
    expect(data.usage!.completion_tokens).toBeGreaterThan(0);
    expect(data.usage!.completion_tokens).toBeLessThanOrEqual(8);

    const id = response.headers.get("x-sovr-decision-id")!;
    const { decision } = await decisionEntries(t.app.db.db, id);
    const record = decodeRecord(envelopePayload(decision!.envelope)) as unknown as DecisionRecordV2;
    expect(record.plan).toEqual(["local/smollm2-135m-instruct"]);
    const stored = await getRevision(t.app.db.db, record.catalog_revision);
    const endpoint = snapshotFromCanonical(stored!.canonical).byId.get("local/smollm2-135m-instruct")!;
    expect(endpoint.api).toBe("local");
    expect(endpoint.policy.retentionDays).toMatchObject({ value: 0, source: "runtime" });
    expect(endpoint.policy.trainsOnData).toMatchObject({ value: false, source: "runtime" });
    expect(endpoint.policy.caching).toMatchObject({ value: "in_memory", source: "runtime" });
    expect(endpoint.policy.residency).toMatchObject({
      value: { region: "eu", country: "DE" },
      source: "runtime",
    });
    expect(endpoint.policy.retentionDays.evidence!.document).toContain(`sha256:${TEST_MODEL_SHA256}`);
    expect(endpoint.policy.retentionDays.evidence!.document).toContain("node-llama-cpp 3.21.1");
    expect(endpoint.providerHeadquarters).toBe("DE");
  });

  it("Explain (the README's example): the local endpoint is eligible for zdr in the EU, planned", async () => {
    const grpc = new GrpcJsClient(`127.0.0.1:${t.app.servers.grpcPort}`);
    try {
      const explained = await grpc.unary(RouterService, RouterService.method.explain, {
        request: { model: TEST_MODEL, region: "eu", provider: { zdr: true } },
      });
      const local = explained.decision!.candidates.find((c) => c.endpointId === TEST_MODEL)!;
      expect(local.eligible).toBe(true);
      expect(local.exclusions).toEqual([]);
      expect(explained.decision!.plan).toEqual([TEST_MODEL]);
    } finally {
      grpc.close();
    }
  });

  it("streams token deltas and ends with usage; max_tokens bounds the completion", async () => {
    const stream = await openai.chat.completions.create({
      model: TEST_MODEL,
      messages,
      max_tokens: 6,
      temperature: 0,
      stream: true,
      stream_options: { include_usage: true },
    });
    const deltas: string[] = [];
    let usage: OpenAI.CompletionUsage | undefined;
    let finish: string | null | undefined;
    for await (const chunk of stream) {
      const c = chunk.choices[0];
      if (c?.delta.content) deltas.push(c.delta.content);
      if (c?.finish_reason) finish = c.finish_reason;
      if (chunk.usage) usage = chunk.usage;
    }
    expect(deltas.length).toBeGreaterThan(1);
    expect(finish).toBe("length");
    expect(usage!.completion_tokens).toBeLessThanOrEqual(6);
    expect(usage!.prompt_tokens).toBeGreaterThan(5);
  });

  it("honours a stop sequence: the text ends before it", async () => {
    const free = await openai.chat.completions.create({
      model: TEST_MODEL,
      messages,
      max_tokens: 12,
      temperature: 0,
    });
    const text = free.choices[0]!.message.content!;
    // Stop on a piece of what the model says unconstrained (greedy decoding: the same text again).
    const stop = text.trim().split(/\s+/)[1] ?? text.trim();
    const stopped = await openai.chat.completions.create({
      model: TEST_MODEL,
      messages,
      max_tokens: 12,
      temperature: 0,
      stop: [stop],
    });
    expect(stopped.choices[0]!.finish_reason).toBe("stop");
    expect(stopped.choices[0]!.message.content).not.toContain(stop);
    expect(text.startsWith(stopped.choices[0]!.message.content!)).toBe(true);
  });

  it("json_schema output parses and matches the schema (grammar-constrained)", async () => {
    const r = await openai.chat.completions.create({
      model: TEST_MODEL,
      messages: [{ role: "user", content: "Give a yes or no answer as JSON." }],
      max_tokens: 16,
      temperature: 0,
      response_format: {
        type: "json_schema",
        json_schema: {
          name: "answer",
          strict: true,
          schema: {
            type: "object",
            properties: { ok: { type: "boolean" } },
            required: ["ok"],
            additionalProperties: false,
          },
        },
      },
    });
    const parsed = JSON.parse(r.choices[0]!.message.content!) as Record<string, unknown>;
    expect(Object.keys(parsed)).toEqual(["ok"]);
    expect(typeof parsed.ok).toBe("boolean");
  });
});

/**
 * Saturation end to end: one slot, no queue. While a stream holds the slot, a request that must
 * stay local (`local_only`) is answered 429 naming local saturation, and one that may leave
 * (prefer_local with a fallback model) falls over to the next endpoint, the local attempt
 * recorded as `local_saturated`.
 */
describe("local inference: every slot busy", () => {
  let t: TestApp;
  let openai: OpenAI;
  const messages = [{ role: "user" as const, content: "Count from 1 to 10: 1, 2, 3," }];

  beforeAll(async () => {
    testModelPath();
    t = await startTestApp({
      env: {
        SOVR_MODELS_DIR: testModelDir(),
        SOVR_LOCATION: "DE",
        SOVR_LOCAL_THREADS: "1",
        SOVR_LOCAL_SLOTS: "1",
        SOVR_LOCAL_QUEUE_MS: "0",
      },
    });
    openai = new OpenAI({ baseURL: `${t.app.httpUrl}/v1`, apiKey: "sk-unused-auth-off", maxRetries: 0 });
  });
  afterAll(async () => t?.close());

  it("local_only → 429 local_saturated; prefer_local → the next endpoint, attempt recorded", async () => {
    const holding = await openai.chat.completions.create({
      model: TEST_MODEL,
      messages,
      max_tokens: 12,
      temperature: 0,
      stream: true,
    });
    const it = holding[Symbol.asyncIterator]();
    await it.next(); // the first chunk: the only slot is taken until the stream ends

    const refused = await openai.chat.completions
      .create({
        model: TEST_MODEL,
        messages,
        max_tokens: 4,
        ...({ provider: { local_only: true } } as object),
      })
      .catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(OpenAI.RateLimitError);
    expect((refused as Error).message).toContain("local_saturated");

    const { response } = await openai.chat.completions
      .create({
        model: TEST_MODEL,
        messages,
        max_tokens: 4,
        ...({ models: ["sim/chat-small"], provider: { prefer_local: true }, region: "eu" } as object),
      })
      .withResponse();
    expect(response.headers.get("x-sovr-endpoint")).toBe("sim-eu/chat-small");
    await t.app.audit.drain();
    const { outcome } = await decisionEntries(t.app.db.db, response.headers.get("x-sovr-decision-id")!);
    const record = decodeRecord(envelopePayload(outcome!.envelope)) as unknown as {
      attempts: { endpoint_id: string; error_class: string | null }[];
    };
    expect(record.attempts.map((a) => [a.endpoint_id, a.error_class])).toEqual([
      ["local/smollm2-135m-instruct", "local_saturated"],
      ["sim-eu/chat-small", null],
    ]);

    for (let r = await it.next(); !r.done; r = await it.next()) {
      /* drain: the slot comes back */
    }
  });
});
