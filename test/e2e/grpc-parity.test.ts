import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { MessageInitShape } from "@bufbuild/protobuf";
import { type Client, createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { status as GrpcStatus, type Metadata, type ServiceError, type StatusObject } from "@grpc/grpc-js";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import {
  type AudioFormat,
  type ChatRequestSchema,
  type ChatStreamResponse,
  ImageDetail,
  PromptCacheRetention,
  ReasoningEffort,
  ResponseFormatType,
  RouterService,
  ServiceTier,
  Verbosity,
} from "../../src/gen/sovereign/v1/router_pb.js";
import { startTestApp, type TestApp } from "../support/app.js";
import { collect, GrpcJsClient } from "../support/grpc.js";
import { GrpcRecordingUpstream } from "../support/grpc-recording-upstream.js";
import { outcomeOf } from "../support/routing-app.js";

/** Every parameter the router knows, so `rec/full` takes whatever a test sends. */
const ALL = `[${[
  "max_tokens, temperature, top_p, stop, seed, presence_penalty, frequency_penalty, logit_bias",
  "parallel_tool_calls, reasoning_effort, verbosity, user, safety_identifier, service_tier, prediction",
  "top_k, min_p, top_a, repetition_penalty, tools, tool_choice, response_format, structured_outputs",
  "logprobs, top_logprobs, n, image_urls, store",
].join(", ")}]`;

const CATALOG = `provider: rec
name: Recording upstream
headquarters: FR
policy: { retention_days: 0, trains_on_data: false, caching: none, residency: { region: eu, country: FR } }
endpoints:
  - id: rec/full
    model: rec/full
    api: openai
    base_url: \${REC_URL}/v1
    pricing: { prompt: 1, completion: 1, cached_prompt: 0.1 }
    context_length: 32768
    input_modalities: [text, image, audio, file]
    supported_parameters: ${ALL}
  - id: rec/plain
    model: rec/plain
    api: openai
    base_url: \${REC_URL}/v1
    pricing: { prompt: 1, completion: 1 }
    context_length: 32768
    supported_parameters: [max_tokens, temperature]
  - id: rec/vision-text
    model: rec/vision
    api: openai
    base_url: \${REC_URL}/v1
    pricing: { prompt: 0.1, completion: 0.1 }
    context_length: 32768
    supported_parameters: [max_tokens]
  - id: rec/vision-image
    model: rec/vision
    api: openai
    base_url: \${REC_URL}/v1
    pricing: { prompt: 1, completion: 1 }
    context_length: 32768
    input_modalities: [text, image]
    supported_parameters: [max_tokens]
`;

type ChatInit = MessageInitShape<typeof ChatRequestSchema>;
const PNG = new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 1, 2, 3]);

const ask = (model: string, o: Omit<Partial<ChatInit>, "$typeName"> = {}): ChatInit => ({
  model,
  messages: [{ role: "user", content: "hello" }],
  ...o,
});

/** gRPC/Connect parity with the HTTP API: the proto's parts and parameters reach the upstream. */
describe("gRPC chat carries the full request and response model", () => {
  let t: TestApp;
  let up: GrpcRecordingUpstream;
  let dir: string;
  let grpc: GrpcJsClient;
  let connect: Client<typeof RouterService>;

  beforeAll(async () => {
    up = await GrpcRecordingUpstream.start();
    dir = await mkdtemp(join(tmpdir(), "sovr-grpc-parity-"));
    await writeFile(join(dir, "rec.yaml"), CATALOG);
    t = await startTestApp({
      catalogDir: dir,
      env: { REC_URL: up.url, SOVR_CATALOG_URL_VARS: "REC_URL", SOVR_CATALOG_WATCH: "off" },
    });
    grpc = new GrpcJsClient(t.app.grpcUrl.replace("http://", ""));
    connect = createClient(RouterService, createGrpcTransport({ baseUrl: t.app.grpcUrl }));
  });
  afterAll(async () => {
    grpc?.close();
    await t?.close();
    await up?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });
  beforeEach(() => {
    up.reply = GrpcRecordingUpstream.text("ok");
  });

  const chat = (req: ChatInit) => grpc.unary(RouterService, RouterService.method.chat, req);
  const failure = (req: ChatInit): Promise<ServiceError> =>
    chat(req).then(
      () => {
        throw new Error("expected the call to fail");
      },
      (e: unknown) => e as ServiceError,
    );

  it("every parameter reaches the upstream intact, by its OpenAI name", async () => {
    const schema = { type: "object", properties: { city: { type: "string" } }, required: ["city"] };
    const res = await chat(
      ask("rec/full", {
        maxTokens: 64,
        useMaxCompletionTokens: true,
        responseFormat: {
          type: ResponseFormatType.JSON_SCHEMA,
          name: "place",
          schemaJson: JSON.stringify(schema),
          strict: true,
        },
        logprobs: true,
        topLogprobs: 2,
        presencePenalty: 0.5,
        frequencyPenalty: -0.25,
        logitBias: { "50256": -100, "1234": 7 },
        parallelToolCalls: false,
        reasoningEffort: ReasoningEffort.LOW,
        verbosity: Verbosity.HIGH,
        user: "user-42",
        safetyIdentifier: "sid-9",
        serviceTier: ServiceTier.FLEX,
        prediction: "predicted text",
        topK: 40,
        minP: 0.05,
        topA: 0.1,
        repetitionPenalty: 1.1,
      }),
    );
    expect(res.route?.endpointId).toBe("rec/full");
    expect(res.route?.unappliedParameters).toEqual([]);
    const body = up.last;
    expect(body).toMatchObject({
      model: "rec/full",
      max_completion_tokens: 64,
      response_format: { type: "json_schema", json_schema: { name: "place", schema, strict: true } },
      logprobs: true,
      top_logprobs: 2,
      presence_penalty: 0.5,
      frequency_penalty: -0.25,
      logit_bias: { "50256": -100, "1234": 7 },
      parallel_tool_calls: false,
      reasoning_effort: "low",
      verbosity: "high",
      user: "user-42",
      safety_identifier: "sid-9",
      service_tier: "flex",
      prediction: { type: "content", content: "predicted text" },
      top_k: 40,
      min_p: 0.05,
      top_a: 0.1,
      repetition_penalty: 1.1,
    });
    expect(body).not.toHaveProperty("max_tokens");
    expect(body).not.toHaveProperty("params");
  });

  it("store: false is sent; store: true and prompt-cache hints need the policy's permission", async () => {
    await chat(ask("rec/full", { store: false }));
    expect(up.last.store).toBe(false);
    const before = up.bodies.length;
    for (const o of [
      { store: true },
      { promptCacheKey: "k1" },
      { promptCacheRetention: PromptCacheRetention.HOURS_24 },
    ] as Omit<Partial<ChatInit>, "$typeName">[]) {
      const err = await failure(ask("rec/full", o));
      expect(err.code).toBe(GrpcStatus.FAILED_PRECONDITION);
      expect(err.details).toContain("retention_parameters");
    }
    expect(up.bodies.length).toBe(before);
  });

  it("an advisory parameter the endpoint lacks is not sent and is named in Route, header, trailer and record", async () => {
    const req = ask("rec/plain", { maxTokens: 8, presencePenalty: 0.5, logitBias: { "7": 1 } });
    const headers: Headers[] = [];
    const trailers: Headers[] = [];
    const res = await connect.chat(req, {
      onHeader: (h) => headers.push(h),
      onTrailer: (h) => trailers.push(h),
    });
    expect(res.route?.unappliedParameters).toEqual(["presence_penalty", "logit_bias"]);
    expect(headers[0]?.get("x-sovr-unapplied-parameters")).toBe("presence_penalty, logit_bias");
    expect(trailers[0]?.get("x-sovr-unapplied-parameters")).toBe("presence_penalty, logit_bias");
    expect(up.last).not.toHaveProperty("presence_penalty");
    expect(up.last).not.toHaveProperty("logit_bias");
    expect(up.last.max_tokens).toBe(8);
    const outcome = (await outcomeOf(t, res.route!.decisionId)) as { unapplied_parameters?: string[] };
    expect(outcome.unapplied_parameters).toEqual(["presence_penalty", "logit_bias"]);

    // ChatStream over @grpc/grpc-js: the header arrives with the route, the trailer with the status.
    const stream = grpc.serverStream(RouterService, RouterService.method.chatStream, req);
    const meta = new Promise<Metadata>((r) => stream.on("metadata", r));
    const status = new Promise<StatusObject>((r) => stream.on("status", r));
    const events = await collect(stream);
    expect(events[0]?.event.case === "route" && events[0].event.value.unappliedParameters).toEqual([
      "presence_penalty",
      "logit_bias",
    ]);
    expect((await meta).get("x-sovr-unapplied-parameters")).toEqual(["presence_penalty, logit_bias"]);
    expect((await status).metadata.get("x-sovr-unapplied-parameters")).toEqual([
      "presence_penalty, logit_bias",
    ]);

    // Nothing unapplied: no header.
    const clean: Headers[] = [];
    await connect.chat(ask("rec/plain", { maxTokens: 8 }), { onHeader: (h) => clean.push(h) });
    expect(clean[0]?.has("x-sovr-unapplied-parameters")).toBe(false);
  });

  it("an image part goes only to an endpoint taking images; the other is excluded with the reason", async () => {
    const withImage = ask("rec/vision", {
      messages: [
        {
          role: "user",
          parts: [
            { part: { case: "text", value: "what is this?" } },
            {
              part: {
                case: "image",
                value: {
                  source: { case: "data", value: PNG },
                  mediaType: "image/png",
                  detail: ImageDetail.LOW,
                },
              },
            },
          ],
        },
      ],
      provider: { order: ["rec/vision-text", "rec/vision-image"] },
    });
    const explained = await grpc.unary(RouterService, RouterService.method.explain, { request: withImage });
    const textOnly = explained.decision!.candidates.find((c) => c.endpointId === "rec/vision-text")!;
    expect(textOnly.eligible).toBe(false);
    expect(textOnly.exclusions.map((e) => [e.rule, e.reason])).toEqual([
      ["input_modalities", "input_modalities: endpoint does not take image input"],
    ]);
    expect(explained.decision!.plan).toEqual(["rec/vision-image"]);
    const res = await chat(withImage);
    expect(res.route?.endpointId).toBe("rec/vision-image");

    // Text alone: the text-only endpoint comes first, as ordered.
    const plain = await chat(
      ask("rec/vision", { provider: { order: ["rec/vision-text", "rec/vision-image"] } }),
    );
    expect(plain.route?.endpointId).toBe("rec/vision-text");
  });

  it("choices (n > 1), logprobs, reasoning, refusal and usage details come back in Chat and ChatStream", async () => {
    const lp = (token: string) => ({
      token,
      logprob: -0.5,
      bytes: [...Buffer.from(token)],
      top_logprobs: [{ token, logprob: -0.5, bytes: null }],
    });
    up.reply = [
      { choices: [{ index: 0, delta: { role: "assistant", reasoning: "thinking" } }] },
      { choices: [{ index: 0, delta: { content: "Hi" }, logprobs: { content: [lp("Hi")] } }] },
      { choices: [{ index: 1, delta: { role: "assistant", refusal: "I can't" } }] },
      { choices: [{ index: 0, delta: {}, finish_reason: "stop" }] },
      { choices: [{ index: 1, delta: {}, finish_reason: "content_filter" }] },
      {
        choices: [],
        usage: {
          prompt_tokens: 1000,
          completion_tokens: 40,
          prompt_tokens_details: { cached_tokens: 800, audio_tokens: 3 },
          completion_tokens_details: { reasoning_tokens: 30, audio_tokens: 0 },
        },
      },
    ];
    const req = ask("rec/full", { n: 2, logprobs: true, topLogprobs: 1 });
    const res = await chat(req);
    expect(up.last).toMatchObject({ n: 2, logprobs: true, top_logprobs: 1 });
    expect(res.message?.content).toBe("Hi");
    expect(res.finishReason).toBe("stop");
    expect(
      res.choices.map((c) => [c.index, c.message?.content, c.finishReason, c.reasoning, c.refusal]),
    ).toEqual([
      [0, "Hi", "stop", "thinking", ""],
      [1, "", "content_filter", "", "I can't"],
    ]);
    const [tok] = res.choices[0]!.logprobs;
    expect(tok?.token).toBe("Hi");
    expect(tok?.logprob).toBe(-0.5);
    expect(Buffer.from(tok!.bytes!).toString()).toBe("Hi");
    expect(tok?.topLogprobs.map((a) => [a.token, a.bytes])).toEqual([["Hi", undefined]]);
    expect(res.usage).toMatchObject({
      promptTokens: 1000,
      completionTokens: 40,
      cachedPromptTokens: 800,
      audioPromptTokens: 3,
      reasoningTokens: 30,
    });
    expect(res.usage?.audioCompletionTokens).toBeUndefined();
    expect(res.usage?.cacheWritePromptTokens).toBeUndefined();
    // 200 uncached prompt tokens at $1/M, 800 cached at $0.1/M, 40 completion at $1/M.
    expect(res.usage?.costMicroUsd).toBe(320n);

    const events: ChatStreamResponse[] = await collect(
      grpc.serverStream(RouterService, RouterService.method.chatStream, req),
    );
    const deltas = events.flatMap((e) => (e.event.case === "delta" ? [e.event.value] : []));
    expect(deltas.map((d) => [d.index, d.content, d.reasoning, d.refusal, d.logprobs.length])).toEqual([
      [0, "", "thinking", "", 0],
      [0, "Hi", "", "", 1],
      [1, "", "", "I can't", 0],
    ]);
    const finish = events.at(-1)?.event;
    expect(finish?.case).toBe("finish");
    if (finish?.case !== "finish") return;
    expect(finish.value.choices.map((c) => [c.index, c.finishReason])).toEqual([
      [0, "stop"],
      [1, "content_filter"],
    ]);
    expect(finish.value.usage?.reasoningTokens).toBe(30);
  });

  it("invalid values are InvalidArgument naming the proto field; nothing leaves", async () => {
    const before = up.bodies.length;
    const cases: [Omit<Partial<ChatInit>, "$typeName">, string][] = [
      [
        { messages: [{ role: "user", content: "x", parts: [{ part: { case: "text", value: "y" } }] }] },
        "messages[0].content: must be empty when parts is set",
      ],
      [
        {
          messages: [
            {
              role: "user",
              parts: [{ part: { case: "image", value: { source: { case: "data", value: PNG } } } }],
            },
          ],
        },
        "messages[0].parts[0].image.media_type: is required with data",
      ],
      [
        { messages: [{ role: "user", parts: [{ part: { case: "audio", value: { data: PNG } } }] }] },
        "messages[0].parts[0].audio.format: is required (wav or mp3)",
      ],
      [
        {
          messages: [
            {
              role: "user",
              parts: [{ part: { case: "audio", value: { data: PNG, format: 9 as AudioFormat } } }],
            },
          ],
        },
        "messages[0].parts[0].audio.format",
      ],
      [
        { responseFormat: { type: ResponseFormatType.JSON_SCHEMA, name: "x", schemaJson: "{not json" } },
        "response_format.schema_json: must be JSON",
      ],
      [
        { responseFormat: { type: ResponseFormatType.TEXT, name: "x" } },
        "response_format: name, description",
      ],
      [{ responseFormat: {} }, "response_format.type"],
      [{ reasoningEffort: 42 as ReasoningEffort }, "reasoning_effort: must be one of"],
      [{ promptCacheRetention: 7 as PromptCacheRetention }, "prompt_cache_retention: must be one of"],
      [{ useMaxCompletionTokens: true }, "use_max_completion_tokens: needs max_tokens"],
      [{ tools: [{ functionName: "" }] }, "tools[0].function_name: is required"],
    ];
    for (const [o, message] of cases) {
      const err = await failure(ask("rec/full", o));
      expect(err.code, message).toBe(GrpcStatus.INVALID_ARGUMENT);
      expect(err.details).toContain(message);
    }
    expect(up.bodies.length).toBe(before);
  });
});
