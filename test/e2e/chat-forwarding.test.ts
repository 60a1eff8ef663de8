import OpenAI from "openai";
import { zodResponseFormat } from "openai/helpers/zod";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { z } from "zod";
import { type RecordingApp, startRecordingApp } from "../support/recording-app.js";

/**
 * Chat Completions with the real `openai` SDK against a recording OpenAI-compatible upstream
 * (issue 13): every field of `ChatCompletionCreateParams` arrives upstream intact (one test per
 * group) or is refused with a 400 naming it before anything leaves; responses carry every
 * choice, logprobs, refusal, reasoning and usage details.
 */
describe("Chat Completions: every field forwarded or refused", () => {
  let r: RecordingApp;
  let openai: OpenAI;
  const FULL = { provider: { only: ["rec-full"] } };
  const user = { role: "user" as const, content: "hello" };
  const extra = (o: Record<string, unknown>) => o as object;
  const sent = () => r.upstream.requests.at(-1)!.body;

  beforeAll(async () => {
    r = await startRecordingApp();
    openai = new OpenAI({ baseURL: `${r.t.app.httpUrl}/v1`, apiKey: "sk-unused-auth-off", maxRetries: 0 });
  });
  afterAll(async () => r?.close());
  beforeEach(() => r.upstream.reset());

  it("sampling and advisory fields arrive by their names; max_completion_tokens stays max_completion_tokens", async () => {
    const fields = {
      temperature: 0.3,
      top_p: 0.9,
      stop: ["END"],
      seed: 42,
      presence_penalty: 0.5,
      frequency_penalty: -0.5,
      logit_bias: { "50256": -100 },
      user: "user-7",
      safety_identifier: "sid-7",
      service_tier: "flex" as const,
      verbosity: "low" as const,
      reasoning_effort: "low" as const,
      prediction: { type: "content" as const, content: "predicted text" },
      max_completion_tokens: 300,
      store: false,
    };
    const openRouter = {
      top_k: 40,
      min_p: 0.05,
      top_a: 0.1,
      repetition_penalty: 1.1,
      transforms: ["middle-out"],
    };
    const { response } = await openai.chat.completions
      .create({ model: "rec/chat", messages: [user], ...fields, ...extra({ ...FULL, ...openRouter }) })
      .withResponse();
    expect(response.headers.get("x-sovr-endpoint")).toBe("rec-full/chat");
    expect(response.headers.get("x-sovr-unapplied-parameters")).toBeNull();
    const body = sent();
    expect(body).toMatchObject({ model: "full-model", messages: [user], ...fields, ...openRouter });
    expect(body).not.toHaveProperty("max_tokens");
    // The routing extensions stay with the router.
    expect(body).not.toHaveProperty("provider");
  });

  it("contract fields: structured output, logprobs, n = 2, strict tools, parallel_tool_calls", async () => {
    const lp = (token: string) => ({
      token,
      logprob: -0.1,
      bytes: [...Buffer.from(token)],
      top_logprobs: [],
    });
    r.upstream.reply({
      choices: [
        { content: '{"a":1}', logprobs: [lp('{"a"'), lp(":1}")] },
        { content: '{"a":2}', logprobs: [lp('{"a"'), lp(":2}")], finishReason: "length" },
      ],
    });
    const response_format = {
      type: "json_schema" as const,
      json_schema: {
        name: "answer",
        strict: true,
        schema: {
          type: "object",
          properties: { a: { type: "number" } },
          required: ["a"],
          additionalProperties: false,
        },
      },
    };
    const tools = [
      {
        type: "function" as const,
        function: { name: "lookup", description: "Look up", parameters: { type: "object" }, strict: true },
      },
    ];
    const data = await openai.chat.completions.create({
      model: "rec/chat",
      messages: [user],
      response_format,
      logprobs: true,
      top_logprobs: 2,
      n: 2,
      tools,
      tool_choice: "auto",
      parallel_tool_calls: false,
    });
    expect(sent()).toMatchObject({
      response_format,
      logprobs: true,
      top_logprobs: 2,
      n: 2,
      tools,
      tool_choice: "auto",
    });
    expect(sent().parallel_tool_calls).toBe(false);
    expect(data.choices.map((c) => [c.index, c.message.content, c.finish_reason])).toEqual([
      [0, '{"a":1}', "stop"],
      [1, '{"a":2}', "length"],
    ]);
    expect(data.choices[1]!.logprobs!.content!.map((l) => l.token)).toEqual(['{"a"', ":2}"]);
  });

  it("content parts: inline and https images, input audio, a PDF, tool messages with text parts", async () => {
    const png =
      "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==";
    const messages: OpenAI.ChatCompletionMessageParam[] = [
      { role: "developer", content: [{ type: "text", text: "be brief" }] },
      {
        role: "user",
        content: [
          { type: "text", text: "what is this?" },
          { type: "image_url", image_url: { url: `data:image/png;base64,${png}`, detail: "high" } },
          { type: "image_url", image_url: { url: "https://images.example/cat.jpg" } },
          { type: "input_audio", input_audio: { data: "UklGRiQAAABXQVZF", format: "wav" } },
          {
            type: "file",
            file: { file_data: "data:application/pdf;base64,JVBERi0xLjQK", filename: "a.pdf" },
          },
        ],
      },
      {
        role: "assistant",
        content: null,
        tool_calls: [{ id: "call_1", type: "function", function: { name: "lookup", arguments: '{"q":1}' } }],
      },
      { role: "tool", tool_call_id: "call_1", content: [{ type: "text", text: "42" }] },
      { role: "assistant", content: "no", refusal: "I cannot help with that." },
      { role: "user", content: "again", name: "ana" },
    ];
    await openai.chat.completions.create({ model: "rec/chat", messages });
    expect(r.upstream.requests.at(-1)!.endpoint).toBe("rec-full");
    expect(sent().messages).toEqual(messages);
  });

  it("OpenRouter's reasoning and usage translate; streaming usage and reasoning come back", async () => {
    r.upstream.reply({
      choices: [{ reasoning: "thinking…", content: "done" }],
      usage: {
        prompt_tokens: 12,
        completion_tokens: 30,
        prompt_tokens_details: { cached_tokens: 4, audio_tokens: 0 },
        completion_tokens_details: { reasoning_tokens: 20, audio_tokens: 0 },
      },
    });
    const stream = await openai.chat.completions.create({
      model: "rec/chat",
      messages: [user],
      stream: true,
      ...extra({ ...FULL, reasoning: { effort: "high" }, usage: { include: true } }),
    });
    let reasoning = "";
    let text = "";
    let usage: OpenAI.CompletionUsage | undefined;
    for await (const c of stream) {
      reasoning += (c.choices[0]?.delta as { reasoning?: string } | undefined)?.reasoning ?? "";
      text += c.choices[0]?.delta.content ?? "";
      if (c.usage) usage = c.usage;
    }
    expect(sent().reasoning_effort).toBe("high");
    expect(sent()).not.toHaveProperty("reasoning");
    expect([reasoning, text]).toEqual(["thinking…", "done"]);
    expect(usage).toMatchObject({
      prompt_tokens_details: { cached_tokens: 4 },
      completion_tokens_details: { reasoning_tokens: 20 },
    });
    // reasoning.exclude: the model reasons, the answer carries none of it.
    r.upstream.reply({ choices: [{ reasoning: "secret thoughts", content: "done" }] });
    const quiet = await openai.chat.completions.create({
      model: "rec/chat",
      messages: [user],
      ...extra({ ...FULL, reasoning: { effort: "low", exclude: true } }),
    });
    expect(JSON.stringify(quiet)).not.toContain("secret thoughts");
  });

  it("message.refusal and logprobs of a streamed answer reach the SDK", async () => {
    r.upstream.reply({ choices: [{ refusal: "I can't do that." }] });
    const data = await openai.chat.completions.create({ model: "rec/chat", messages: [user] });
    expect(data.choices[0]!.message.refusal).toBe("I can't do that.");
  });

  it("client.chat.completions.parse() with a zod schema returns the parsed object", async () => {
    const Weather = z.object({ city: z.string(), celsius: z.number() });
    r.upstream.reply({ choices: [{ content: '{"city":"Zürich","celsius":21.5}' }] });
    const done = await openai.chat.completions.parse({
      model: "rec/chat",
      messages: [user],
      response_format: zodResponseFormat(Weather, "weather"),
    });
    expect(done.choices[0]!.message.parsed).toEqual({ city: "Zürich", celsius: 21.5 });
    expect(sent().response_format).toMatchObject({
      type: "json_schema",
      json_schema: { name: "weather", strict: true },
    });
  });

  describe("refused with 400 naming the field; nothing goes upstream", () => {
    const cases: [string, Record<string, unknown>][] = [
      ["functions", { functions: [{ name: "f", parameters: {} }] }],
      ["function_call", { function_call: "auto" }],
      ["audio", { audio: { voice: "alloy", format: "wav" } }],
      ["modalities", { modalities: ["text", "audio"] }],
      ["web_search_options", { web_search_options: {} }],
      ["moderation", { moderation: { model: "omni-moderation-latest" } }],
      ["stream_options.include_obfuscation", { stream: true, stream_options: { include_obfuscation: true } }],
      ["reasoning.max_tokens", { reasoning: { max_tokens: 2000 } }],
      ["not_a_field", { not_a_field: 1 }],
      ["tools[0].type", { tools: [{ type: "custom", custom: { name: "c" } }] }],
      ["response_format.type", { response_format: { type: "xml" } }],
      ["n", { n: 99 }],
      ["top_logprobs", { top_logprobs: 3 }],
      ["max_completion_tokens", { max_tokens: 10, max_completion_tokens: 10 }],
      ["messages[0].role", { messages: [{ role: "function", name: "f", content: "x" }] }],
      ["messages[0].audio", { messages: [{ role: "assistant", audio: { id: "audio_1" } }] }],
      [
        "messages[0].content[0].file.file_id",
        { messages: [{ role: "user", content: [{ type: "file", file: { file_id: "file-1" } }] }] },
      ],
      [
        "messages[0].content[0].image_url.url",
        {
          messages: [
            {
              role: "user",
              content: [{ type: "image_url", image_url: { url: "http://plain.example/a.png" } }],
            },
          ],
        },
      ],
      [
        "messages[0].content[0].prompt_cache_breakpoint",
        {
          messages: [
            {
              role: "user",
              content: [{ type: "text", text: "x", prompt_cache_breakpoint: { mode: "explicit" } }],
            },
          ],
        },
      ],
      [
        "messages[0].content[1].type",
        {
          messages: [
            {
              role: "system",
              content: [
                { type: "text", text: "x" },
                { type: "input_audio", input_audio: { data: "AAAA", format: "wav" } },
              ],
            },
          ],
        },
      ],
    ];
    it.each(cases)("%s", async (param, fields) => {
      const err = await openai.chat.completions
        .create({ model: "rec/chat", messages: [user], ...fields } as never)
        .then(
          () => undefined,
          (e: unknown) => e as InstanceType<typeof OpenAI.APIError>,
        );
      expect(err).toBeInstanceOf(OpenAI.APIError);
      expect([err!.status, err!.type, err!.param]).toEqual([400, "invalid_request_error", param]);
      expect(r.upstream.requests).toHaveLength(0);
    });
  });

  it("a data URL never appears in an error or a log line", async () => {
    const secret = "U0VDUkVULUlNQUdFLUJZVEVT";
    const bad = `data:image/png;base64,${secret}@@`;
    const err = await openai.chat.completions
      .create({
        model: "rec/chat",
        messages: [{ role: "user", content: [{ type: "image_url", image_url: { url: bad } }] }],
      })
      .catch((e: unknown) => e as InstanceType<typeof OpenAI.APIError>);
    expect(err).toMatchObject({ status: 400, param: "messages[0].content[0].image_url.url" });
    expect(JSON.stringify(err)).not.toContain(secret);
    await openai.chat.completions.create({
      model: "rec/chat",
      messages: [
        {
          role: "user",
          content: [{ type: "image_url", image_url: { url: `data:image/png;base64,${secret}` } }],
        },
      ],
      ...extra(FULL),
    });
    expect(
      (sent().messages as { content: { image_url: { url: string } }[] }[])[0]!.content[0]!.image_url.url,
    ).toContain(secret);
    expect(r.t.logs.join("\n")).not.toContain(secret);
  });
});
