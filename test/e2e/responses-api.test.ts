import { mkdtemp, readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import OpenAI from "openai";
import { zodTextFormat } from "openai/helpers/zod";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { z } from "zod";
import { REPO, startTestApp, type TestApp } from "../support/app.js";
import { outcomeOf } from "../support/routing-app.js";
import { type ScriptedUpstream, startScriptedUpstream } from "../support/scripted-upstream.js";

/**
 * The OpenAI Responses API (`POST /v1/responses`) with the official `openai` SDK: stateless,
 * on the same router as chat completions, to OpenAI-compatible and Anthropic upstreams. A
 * scripted upstream (`fake/json`) records what reached the provider and answers with JSON.
 */
const EXTRA = `
---
provider: fake-json
name: Scripted upstream
headquarters: FR
policy: { retention_days: 0, trains_on_data: false, caching: none, residency: { region: eu, country: FR } }
endpoints:
  - id: fake-json/json
    model: fake/json
    api: openai
    base_url: \${FAKE_JSON_URL}/v1
    pricing: { prompt: 1, completion: 1 }
    context_length: 32768
    input_modalities: [text, image, file]
    supported_parameters: [max_tokens, temperature, top_p, tools, tool_choice, parallel_tool_calls, response_format, structured_outputs, store, reasoning_effort, verbosity, user]
---
provider: sim-anthropic
name: Simulator Anthropic
headquarters: FR
policy: { retention_days: 0, trains_on_data: false, caching: none, residency: { region: eu, country: DE } }
endpoints:
  - id: sim-anthropic/chat-small
    model: sim/chat-small
    upstream_model: claude-sim
    api: anthropic
    base_url: \${SOVR_SIMULATOR_URL}/sim-anthropic/v1
    pricing: { prompt: 4, completion: 4 }
    context_length: 200000
    supported_parameters: [temperature, top_p, max_tokens, stop, tools, tool_choice]
`;

const SIM_TEXT = "the quick brown fox jumps over a lazy dog while the router keeps every record the";
// OpenRouter's routing fields are not in the SDK's types; they travel as extra body fields.
const extra = (o: Record<string, unknown>) => o as object;
const onlyEu = extra({ provider: { only: ["sim-eu"] } });
const weather: OpenAI.Responses.FunctionTool = {
  type: "function",
  name: "get_weather",
  description: "Weather in a city",
  parameters: { type: "object", properties: { city: { type: "string" } }, required: ["city"] },
  strict: false,
};

describe("OpenAI Responses API", () => {
  let t: TestApp;
  let fake: ScriptedUpstream;
  let openai: OpenAI;

  beforeAll(async () => {
    fake = await startScriptedUpstream();
    const dir = await mkdtemp(join(tmpdir(), "sovr-responses-catalog-"));
    const base = await readFile(join(REPO, "test/fixtures/catalog/simulator.yaml"), "utf8");
    await writeFile(join(dir, "simulator.yaml"), base + EXTRA);
    t = await startTestApp({
      catalogDir: dir,
      env: {
        FAKE_JSON_URL: fake.url,
        SOVR_CATALOG_URL_VARS: "SOVR_SIMULATOR_URL,FAKE_JSON_URL",
        SOVR_CATALOG_WATCH: "off",
      },
    });
    openai = new OpenAI({ baseURL: `${t.app.httpUrl}/v1`, apiKey: "sk-unused-auth-off", maxRetries: 0 });
  });
  afterAll(async () => {
    await t?.close();
    await fake?.close();
  });

  /** Requests that reached any upstream so far. */
  const sent = () =>
    fake.bodies.length +
    ["sim-eu", "sim-us", "sim-unknown", "sim-anthropic"].reduce(
      (n, i) => n + t.simulator.stats(i).requests,
      0,
    );

  it("create with a string input: a Response with output text, usage, store false and the route headers", async () => {
    const { data, response } = await openai.responses
      .create({ model: "sim/chat-small", input: "Say something.", ...onlyEu })
      .withResponse();
    const decision = response.headers.get("x-sovr-decision-id")!;
    expect(data).toMatchObject({
      id: `resp_${decision}`,
      object: "response",
      status: "completed",
      model: "sim/chat-small",
      store: false,
      error: null,
      incomplete_details: null,
    });
    expect(data.output_text).toBe(SIM_TEXT);
    expect(data.output).toHaveLength(1);
    expect(data.output[0]).toMatchObject({
      type: "message",
      role: "assistant",
      status: "completed",
      content: [{ type: "output_text", text: SIM_TEXT, annotations: [] }],
    });
    expect(data.usage).toMatchObject({
      output_tokens: 16,
      input_tokens_details: { cached_tokens: 0 },
      output_tokens_details: { reasoning_tokens: 0 },
      total_tokens: data.usage!.input_tokens + 16,
    });
    expect(response.headers.get("x-sovr-endpoint")).toBe("sim-eu/chat-small");
    expect(response.headers.get("x-sovr-unapplied-parameters")).toBeNull();
    expect(await outcomeOf(t, decision)).toMatchObject({
      outcome: "success",
      endpoint_used: "sim-eu/chat-small",
    });
  });

  it("item input with instructions, images, files and an earlier tool call reaches the upstream as chat messages", async () => {
    fake.replies = [{ text: "done" }];
    const png = `data:image/png;base64,${Buffer.from("png-bytes").toString("base64")}`;
    const pdf = Buffer.from("%PDF-1.4").toString("base64");
    const r = await openai.responses.create({
      model: "fake/json",
      instructions: "Be brief.",
      input: [
        {
          role: "user",
          content: [
            { type: "input_text", text: "Look: " },
            { type: "input_image", image_url: png, detail: "low" },
            { type: "input_file", file_data: pdf, filename: "a.pdf" },
          ],
        },
        { role: "assistant", content: "Checking." },
        { type: "function_call", call_id: "call_1", name: "get_weather", arguments: '{"city":"Paris"}' },
        { type: "function_call_output", call_id: "call_1", output: "sunny" },
        { type: "message", role: "developer", content: [{ type: "input_text", text: "Answer now." }] },
      ],
      tools: [weather],
      max_output_tokens: 50,
      temperature: 0.5,
      user: "user-1",
      text: { verbosity: "low" },
    });
    expect(r.output_text).toBe("done");
    const body = fake.bodies.at(-1)!;
    expect(body.messages).toEqual([
      { role: "system", content: "Be brief." },
      {
        role: "user",
        content: [
          { type: "text", text: "Look: " },
          // OpenAI's wire form: inline media as data URLs.
          { type: "image_url", image_url: { url: png, detail: "low" } },
          { type: "file", file: { file_data: `data:application/pdf;base64,${pdf}`, filename: "a.pdf" } },
        ],
      },
      {
        role: "assistant",
        content: "Checking.",
        tool_calls: [
          {
            id: "call_1",
            type: "function",
            function: { name: "get_weather", arguments: '{"city":"Paris"}' },
          },
        ],
      },
      { role: "tool", tool_call_id: "call_1", content: "sunny" },
      { role: "developer", content: "Answer now." },
    ]);
    expect(body).toMatchObject({
      store: false,
      max_completion_tokens: 50,
      temperature: 0.5,
      user: "user-1",
      verbosity: "low",
      tools: [{ type: "function", function: { name: "get_weather", parameters: weather.parameters } }],
    });
    expect(body).not.toHaveProperty("params");
    expect(body).not.toHaveProperty("max_tokens");
  });

  it("stream(): the event sequence the SDK accumulates, numbered, and finalResponse()", async () => {
    const stream = openai.responses.stream({ model: "sim/chat-small", input: "Stream it.", ...onlyEu });
    const types: string[] = [];
    const seqs: number[] = [];
    let deltas = "";
    let obfuscated = 0;
    for await (const ev of stream) {
      types.push(ev.type);
      seqs.push(ev.sequence_number);
      if (ev.type === "response.output_text.delta") {
        deltas += ev.delta;
        if (typeof (ev as { obfuscation?: unknown }).obfuscation === "string") obfuscated++;
      }
    }
    const final = await stream.finalResponse();
    expect(final.output_text).toBe(SIM_TEXT);
    expect(final.status).toBe("completed");
    expect(final.usage?.output_tokens).toBe(16);
    expect(deltas).toBe(SIM_TEXT);
    expect(obfuscated).toBe(16);
    expect(seqs).toEqual(seqs.map((_, i) => i));
    const distinct = types.filter((x, i) => x !== types[i - 1]);
    expect(distinct).toEqual([
      "response.created",
      "response.in_progress",
      "response.output_item.added",
      "response.content_part.added",
      "response.output_text.delta",
      "response.output_text.done",
      "response.content_part.done",
      "response.output_item.done",
      "response.completed",
    ]);
  });

  it("a failure after the first token: response.failed, then an error event that ends the SDK's stream with an error", async () => {
    t.simulator.setBehaviour("sim-eu", { fault: { kind: "abort_after", chunks: 3 } });
    try {
      const stream = openai.responses.stream({
        model: "sim/chat-small",
        input: "Stream it.",
        ...extra({ provider: { only: ["sim-eu"], allow_fallbacks: false } }),
      });
      const events: OpenAI.Responses.ResponseStreamEvent[] = [];
      stream.on("event", (ev) => events.push(ev));
      const err = await stream.finalResponse().then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toMatchObject({ type: "error", message: expect.stringMatching(/interrupted/) });
      expect(events.map((e) => e.type).slice(-2)).toEqual(["response.failed", "error"]);
      const failed = events.at(-2) as OpenAI.Responses.ResponseFailedEvent;
      expect(failed.response).toMatchObject({ status: "failed", error: { code: "server_error" } });
      expect(failed.response.output[0]).toMatchObject({ type: "message", status: "in_progress" });
    } finally {
      t.simulator.resetBehaviour();
    }
  });

  it("function tools round trip: function_call out, function_call_output back in (streaming and not)", async () => {
    const before = t.simulator.stats("sim-eu").toolNames.length;
    const first = await openai.responses.create({
      model: "sim/chat-large",
      input: "Weather in Paris?",
      tools: [weather],
      tool_choice: "required",
      ...onlyEu,
    });
    const call = first.output.find((o) => o.type === "function_call")!;
    expect(call).toMatchObject({ type: "function_call", name: "get_weather", arguments: '{"city":"Paris"}' });
    expect(call.call_id).toMatch(/^call_/);
    expect(t.simulator.stats("sim-eu").toolNames.slice(before)).toEqual([["get_weather"]]);

    const stream = openai.responses.stream({
      model: "sim/chat-large",
      input: "Weather in Paris?",
      tools: [weather],
      tool_choice: { type: "function", name: "get_weather" },
      ...onlyEu,
    });
    let done: string | undefined;
    stream.on("response.function_call_arguments.done", (e) => {
      done = e.arguments;
    });
    const streamed = await stream.finalResponse();
    expect(done).toBe('{"city":"Paris"}');
    expect(streamed.output[0]).toMatchObject({
      type: "function_call",
      name: "get_weather",
      status: "completed",
    });

    const second = await openai.responses.create({
      model: "sim/chat-large",
      input: [
        { role: "user", content: "Weather in Paris?" },
        ...first.output.filter((o) => o.type === "function_call"),
        { type: "function_call_output", call_id: call.call_id, output: '{"sky":"clear"}' },
      ],
      tools: [weather],
      ...onlyEu,
    });
    expect(second.output_text).toBe(SIM_TEXT);
  });

  it("parse() with zodTextFormat: structured output to an endpoint that declares it", async () => {
    const Weather = z.object({ city: z.string(), celsius: z.number() });
    fake.replies = [{ text: '{"city":"Paris","celsius":21}' }];
    const r = await openai.responses.parse({
      model: "fake/json",
      input: "Weather in Paris as JSON.",
      text: { format: zodTextFormat(Weather, "weather") },
    });
    expect(r.output_parsed).toEqual({ city: "Paris", celsius: 21 });
    const body = fake.bodies.at(-1)!;
    expect(body.response_format).toMatchObject({
      type: "json_schema",
      json_schema: {
        name: "weather",
        strict: true,
        schema: { type: "object", required: ["city", "celsius"] },
      },
    });
    expect(body.store).toBe(false);
  });

  it("routes to an Anthropic upstream through the same model", async () => {
    const { data, response } = await openai.responses
      .create({
        model: "sim/chat-small",
        instructions: "Be brief.",
        input: "Hello",
        ...extra({ provider: { only: ["sim-anthropic"] } }),
      })
      .withResponse();
    expect(response.headers.get("x-sovr-endpoint")).toBe("sim-anthropic/chat-small");
    expect(data.output_text).toBe(SIM_TEXT);
    expect(t.simulator.stats("sim-anthropic").protocols.anthropic).toBeGreaterThan(0);
  });

  it("max_output_tokens cuts the answer: status incomplete, reason max_output_tokens; unapplied advisory parameters in a header", async () => {
    const { data, response } = await openai.responses
      .create({ model: "sim/chat-small", input: "Long.", max_output_tokens: 3, user: "u-1", ...onlyEu })
      .withResponse();
    expect(data.status).toBe("incomplete");
    expect(data.incomplete_details).toEqual({ reason: "max_output_tokens" });
    expect(data.output[0]).toMatchObject({ type: "message", status: "incomplete" });
    expect(data.usage?.output_tokens).toBe(3);
    expect(response.headers.get("x-sovr-unapplied-parameters")).toBe("user");
    const outcome = await outcomeOf(t, response.headers.get("x-sovr-decision-id")!);
    expect(outcome).toMatchObject({ unapplied_parameters: ["user"] });
  });

  it("refuses what it cannot honour with 400 naming the field, and sends nothing upstream", async () => {
    const cases: [Record<string, unknown>, string][] = [
      [{ store: true }, "store"],
      [{ previous_response_id: "resp_x" }, "previous_response_id"],
      [{ conversation: "conv_1" }, "conversation"],
      [{ background: true }, "background"],
      [{ prompt: { id: "pmpt_1" } }, "prompt"],
      [{ truncation: "auto" }, "truncation"],
      [{ include: ["reasoning.encrypted_content"] }, "include[0]"],
      [{ tools: [{ type: "web_search" }] }, "tools[0].type"],
      [{ tool_choice: { type: "file_search" } }, "tool_choice.type"],
      [{ reasoning: { context: "all_turns" } }, "reasoning.context"],
      [{ stream_options: { include_usage: true } }, "stream_options.include_usage"],
      [{ moderation: { model: "omni-moderation-latest" } }, "moderation"],
      [{ not_a_field: 1 }, "not_a_field"],
      [
        { input: [{ role: "user", content: [{ type: "input_file", file_id: "file_1" }] }] },
        "input[0].content[0].file_id",
      ],
      [
        {
          input: [
            {
              role: "user",
              content: [{ type: "input_image", image_url: "http://x.test/a.png", detail: "auto" }],
            },
          ],
        },
        "input[0].content[0].image_url",
      ],
      [
        { input: [{ type: "reasoning", id: "rs_1", summary: [{ type: "summary_text", text: "because" }] }] },
        "input[0]",
      ],
      [{ input: [{ type: "item_reference", id: "msg_1" }] }, "input[0].type"],
      [{ input: [{ type: "web_search_call", id: "ws_1", status: "completed" }] }, "input[0].type"],
    ];
    const before = sent();
    const failures: string[] = [];
    for (const [fields, param] of cases) {
      const body = {
        model: "fake/json",
        input: "hi",
        ...fields,
      } as unknown as OpenAI.Responses.ResponseCreateParamsNonStreaming;
      const err = await openai.responses.create(body).then(
        () => undefined,
        (e: unknown) => e,
      );
      if (!(err instanceof OpenAI.BadRequestError)) failures.push(`${param}: not a 400 (${String(err)})`);
      else if (err.param !== param || err.type !== "invalid_request_error")
        failures.push(`${param}: got param ${err.param} type ${err.type}`);
    }
    expect(failures).toEqual([]);
    expect(sent()).toBe(before);
  });

  it("a request no endpoint may take is 403 no_eligible_endpoint (a strict tool needs structured_outputs)", async () => {
    const before = sent();
    const err = await openai.responses
      .create({ model: "sim/chat-large", input: "hi", tools: [{ ...weather, strict: true }], ...onlyEu })
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    expect(err).toBeInstanceOf(OpenAI.PermissionDeniedError);
    const e = err as InstanceType<typeof OpenAI.PermissionDeniedError>;
    expect(e.code).toBe("no_eligible_endpoint");
    expect(JSON.stringify(e.error)).toContain("structured_outputs");
    expect(sent()).toBe(before);
  });

  it("stores nothing: a follow-up by previous_response_id is refused and the response cannot be retrieved", async () => {
    const r = await openai.responses.create({ model: "sim/chat-small", input: "Remember this.", ...onlyEu });
    expect((r as unknown as { store: boolean }).store).toBe(false);
    const follow = await openai.responses
      .create({ model: "sim/chat-small", input: "And?", previous_response_id: r.id, ...onlyEu })
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    expect(follow).toBeInstanceOf(OpenAI.BadRequestError);
    expect((follow as InstanceType<typeof OpenAI.BadRequestError>).param).toBe("previous_response_id");
    const retrieve = await openai.responses.retrieve(r.id).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(retrieve).toBeInstanceOf(OpenAI.NotFoundError);
  });
});
