import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { drain, textOf } from "./fixtures/events.js";
import { type RecordedUpstream, startRecordedUpstream } from "./fixtures/recorded-upstream.js";
import { PoolSet } from "./http-call.js";
import { OpenAICompatibleAdapter } from "./openai-adapter.js";
import type { UpstreamCallOptions, UpstreamRequest } from "./types.js";

/**
 * The OpenAI-compatible adapter beyond text and tools: what it sends (parameters by their
 * OpenAI names, `max_completion_tokens`, content parts in OpenAI's wire form) and what it reads
 * (choices of `n` > 1, logprobs, refusal, reasoning under both names, usage details). Streams
 * are hand-written from OpenAI's documented chunk format and served in small slices.
 */
let upstream: RecordedUpstream;
let pools: PoolSet;
let adapter: OpenAICompatibleAdapter;
beforeAll(async () => {
  upstream = await startRecordedUpstream();
  pools = new PoolSet(2);
  adapter = new OpenAICompatibleAdapter(pools);
});
afterAll(async () => {
  await pools?.close();
  await upstream?.close();
});

const options: UpstreamCallOptions = {
  connectTimeoutMs: 2000,
  firstTokenTimeoutMs: 5000,
  idleTimeoutMs: 5000,
};
const run = (req: UpstreamRequest) => drain(adapter.stream({ baseUrl: `${upstream.url}/v1` }, req, options));
const sse = (...chunks: unknown[]) =>
  `${chunks.map((c) => `data: ${JSON.stringify({ id: "chatcmpl-x", object: "chat.completion.chunk", created: 1, model: "m", ...(c as object) })}\n\n`).join("")}data: [DONE]\n\n`;
const lp = (token: string) => ({
  token,
  logprob: -0.25,
  bytes: [...Buffer.from(token)],
  top_logprobs: [{ token, logprob: -0.25, bytes: [...Buffer.from(token)] }],
});

describe("OpenAICompatibleAdapter: the full Chat Completions surface", () => {
  it("sends params by their OpenAI names, max_completion_tokens by that name, parts in OpenAI's form", async () => {
    upstream.reply({
      body: sse({ choices: [{ index: 0, delta: { content: "ok" }, finish_reason: "stop" }] }),
    });
    const schema = {
      type: "json_schema",
      json_schema: { name: "x", strict: true, schema: { type: "object" } },
    };
    const { error } = await run({
      model: "gpt-x",
      messages: [
        { role: "system", content: "be brief" },
        {
          role: "user",
          content: [
            { type: "text", text: "look" },
            {
              type: "image",
              source: { kind: "base64", mediaType: "image/png", data: "iVBORw0KGgo=" },
              detail: "low",
            },
            { type: "image", source: { kind: "url", url: "https://img.example/a.jpg" } },
            { type: "audio", data: "UklGRg==", format: "wav" },
            {
              type: "file",
              source: { kind: "base64", mediaType: "application/pdf", data: "JVBERi0=" },
              filename: "a.pdf",
            },
          ],
        },
        { role: "assistant", content: "", refusal: "I can't" },
        {
          role: "assistant",
          content: "",
          tool_calls: [{ id: "c1", type: "function", function: { name: "f", arguments: "{}" } }],
        },
        { role: "tool", content: "42", tool_call_id: "c1" },
      ],
      max_tokens: 77,
      tools: [{ type: "function", function: { name: "f", parameters: { type: "object" }, strict: true } }],
      params: {
        max_completion_tokens: 77,
        response_format: schema,
        presence_penalty: 0.5,
        top_k: 40,
        store: false,
      },
    });
    expect(error).toBeUndefined();
    const body = upstream.requests.at(-1)!.body as Record<string, unknown>;
    expect(body).toEqual({
      model: "gpt-x",
      messages: [
        { role: "system", content: "be brief" },
        {
          role: "user",
          content: [
            { type: "text", text: "look" },
            { type: "image_url", image_url: { url: "data:image/png;base64,iVBORw0KGgo=", detail: "low" } },
            { type: "image_url", image_url: { url: "https://img.example/a.jpg" } },
            { type: "input_audio", input_audio: { data: "UklGRg==", format: "wav" } },
            { type: "file", file: { file_data: "data:application/pdf;base64,JVBERi0=", filename: "a.pdf" } },
          ],
        },
        { role: "assistant", content: "", refusal: "I can't" },
        {
          role: "assistant",
          content: null,
          tool_calls: [{ id: "c1", type: "function", function: { name: "f", arguments: "{}" } }],
        },
        { role: "tool", content: "42", tool_call_id: "c1" },
      ],
      max_completion_tokens: 77,
      tools: [{ type: "function", function: { name: "f", parameters: { type: "object" }, strict: true } }],
      response_format: schema,
      presence_penalty: 0.5,
      top_k: 40,
      store: false,
      stream: true,
      stream_options: { include_usage: true },
    });
    expect(body).not.toHaveProperty("max_tokens");
  });

  it("n = 2: deltas by choice index with logprobs; finish once both choices finished, each reason", async () => {
    upstream.reply({
      slice: 5,
      body: sse(
        {
          choices: [
            { index: 0, delta: { role: "assistant", content: "" }, logprobs: null, finish_reason: null },
          ],
        },
        {
          choices: [
            { index: 1, delta: { role: "assistant", content: "" }, logprobs: null, finish_reason: null },
          ],
        },
        {
          choices: [
            { index: 0, delta: { content: "Oui" }, logprobs: { content: [lp("Oui")] }, finish_reason: null },
          ],
        },
        {
          choices: [
            { index: 1, delta: { content: "Non" }, logprobs: { content: [lp("Non")] }, finish_reason: null },
          ],
        },
        { choices: [{ index: 0, delta: {}, logprobs: null, finish_reason: "stop" }] },
        { choices: [{ index: 1, delta: {}, logprobs: null, finish_reason: "length" }] },
        { choices: [], usage: { prompt_tokens: 5, completion_tokens: 2 } },
      ),
    });
    const { events, error } = await run({
      model: "m",
      messages: [{ role: "user", content: "?" }],
      params: { n: 2 },
    });
    expect(error).toBeUndefined();
    const deltas = events.filter((e) => e.type === "delta" && e.content);
    expect(deltas).toEqual([
      { type: "delta", content: "Oui", logprobs: [lp("Oui")] },
      { type: "delta", index: 1, content: "Non", logprobs: [lp("Non")] },
    ]);
    expect(events.at(-1)).toEqual({
      type: "finish",
      finishReason: "stop",
      choices: [
        { index: 0, finishReason: "stop" },
        { index: 1, finishReason: "length" },
      ],
      usage: { promptTokens: 5, completionTokens: 2 },
    });
  });

  it("n = 2 with one choice unfinished is a broken stream", async () => {
    upstream.reply({
      body: sse(
        { choices: [{ index: 0, delta: { content: "a" }, finish_reason: "stop" }] },
        { choices: [{ index: 1, delta: { content: "b" }, finish_reason: null }] },
      ),
    });
    const { error } = await run({ model: "m", messages: [{ role: "user", content: "?" }], params: { n: 2 } });
    expect(error).toMatchObject({ errorClass: "stream_broken" });
  });

  it("reasoning under either name, refusal, and usage details (cached, reasoning, audio, cache writes)", async () => {
    upstream.reply({
      body: sse(
        { choices: [{ index: 0, delta: { role: "assistant", reasoning: "think " }, finish_reason: null }] },
        { choices: [{ index: 0, delta: { reasoning_content: "more" }, finish_reason: null }] },
        { choices: [{ index: 0, delta: { refusal: "No." }, finish_reason: null }] },
        { choices: [{ index: 0, delta: {}, finish_reason: "stop" }] },
        {
          choices: [],
          usage: {
            prompt_tokens: 100,
            completion_tokens: 30,
            prompt_tokens_details: { cached_tokens: 60, audio_tokens: 7, cache_write_tokens: 12 },
            completion_tokens_details: { reasoning_tokens: 20, audio_tokens: 3 },
          },
        },
      ),
    });
    const { events, error } = await run({ model: "m", messages: [{ role: "user", content: "?" }] });
    expect(error).toBeUndefined();
    expect(textOf(events)).toBe("");
    expect(
      events.filter((e) => e.type === "delta").map((e) => (e.type === "delta" ? e.reasoning : "")),
    ).toEqual(["think ", "more", undefined]);
    expect(events).toContainEqual({ type: "delta", refusal: "No." });
    expect(events.at(-1)).toEqual({
      type: "finish",
      finishReason: "stop",
      usage: {
        promptTokens: 100,
        completionTokens: 30,
        cachedPromptTokens: 60,
        cacheWritePromptTokens: 12,
        audioPromptTokens: 7,
        reasoningTokens: 20,
        audioCompletionTokens: 3,
      },
    });
  });
});
