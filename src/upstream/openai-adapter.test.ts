import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { drain, textOf, toolCallsOf } from "./fixtures/events.js";
import {
  cutAfter,
  fixture,
  type RecordedUpstream,
  startRecordedUpstream,
} from "./fixtures/recorded-upstream.js";
import { PoolSet } from "./http-call.js";
import { OpenAICompatibleAdapter } from "./openai-adapter.js";
import type { UpstreamCallOptions, UpstreamEvent, UpstreamRequest } from "./types.js";

/**
 * The OpenAI-compatible adapter against recorded Chat Completions streams (src/upstream/fixtures,
 * written from OpenAI's documented wire format), served by a real HTTP server on port 0 in small
 * slices, so that events, JSON and UTF-8 characters arrive split across reads.
 */

let upstream: RecordedUpstream;
let pools: PoolSet;
let adapter: OpenAICompatibleAdapter;
beforeAll(async () => {
  upstream = await startRecordedUpstream();
  pools = new PoolSet(4);
  adapter = new OpenAICompatibleAdapter(pools);
});
afterAll(async () => {
  await pools?.close();
  await upstream?.close();
});

const TEXT = fixture("openai-text.sse");
const TOOLS = fixture("openai-tool-calls.sse");
/** Ends of whole events in openai-text.sse: the role chunk, the first content chunk. */
const ROLE = '"refusal":null},"logprobs":null,"finish_reason":null}],"usage":null}\n\n';
const BONJOUR = '"content":"Bonjour"},"logprobs":null,"finish_reason":null}],"usage":null}\n\n';
const ZERO_DETAILS = {
  cachedPromptTokens: 0,
  audioPromptTokens: 0,
  reasoningTokens: 0,
  audioCompletionTokens: 0,
};
const PROMPT = "a prompt that must never reach an error message";
const request: UpstreamRequest = { model: "gpt-4o", messages: [{ role: "user", content: PROMPT }] };
const options = (o: Partial<UpstreamCallOptions> = {}): UpstreamCallOptions => ({
  connectTimeoutMs: 2000,
  firstTokenTimeoutMs: 5000,
  idleTimeoutMs: 5000,
  requestId: "0190f5c4-0000-7000-8000-000000000001",
  ...o,
});

const collect = (o: Partial<UpstreamCallOptions> = {}, onEvent?: (ev: UpstreamEvent) => void) =>
  drain(adapter.stream({ baseUrl: `${upstream.url}/v1/`, apiKey: "sk-test" }, request, options(o)), onEvent);

describe("OpenAICompatibleAdapter.stream (recorded streams)", () => {
  it("sends params at the top level, and the limit as max_completion_tokens when the caller used that name", async () => {
    upstream.reply({ body: TEXT });
    const req: UpstreamRequest = {
      ...request,
      max_tokens: 64,
      params: { response_format: { type: "json_object" }, store: false, max_completion_tokens: 64 },
    };
    await drain(adapter.stream({ baseUrl: `${upstream.url}/v1/` }, req, options()));
    expect(upstream.requests.at(-1)!.body).toEqual({
      ...request,
      response_format: { type: "json_object" },
      store: false,
      max_completion_tokens: 64,
      stream: true,
      stream_options: { include_usage: true },
    });
  });

  it("text: role, content deltas, finish reason and the usage chunk; sends what the API expects", async () => {
    upstream.reply({ body: TEXT });
    const { events, error } = await collect();
    expect(error).toBeUndefined();
    expect(events[0]).toMatchObject({ type: "delta", role: "assistant" });
    expect(textOf(events)).toBe("Bonjour à tous — 東京は晴れです。");
    expect(events.filter((e) => e.type === "delta")).toHaveLength(8);
    expect(events.at(-1)).toEqual({
      type: "finish",
      finishReason: "stop",
      // OpenAI reports every detail, zeros included: known values, kept.
      usage: { ...ZERO_DETAILS, promptTokens: 19, completionTokens: 10 },
    });
    const sent = upstream.requests.at(-1)!;
    expect(sent.path).toBe("/v1/chat/completions");
    expect(sent.headers.authorization).toBe("Bearer sk-test");
    expect(sent.headers["x-request-id"]).toBe("0190f5c4-0000-7000-8000-000000000001");
    expect(sent.headers.accept).toBe("text/event-stream");
    expect(sent.body).toEqual({ ...request, stream: true, stream_options: { include_usage: true } });
  });

  it("the same stream with CRLF line endings gives the same events", async () => {
    upstream.reply({ body: TEXT });
    const lf = await collect();
    upstream.reply({ body: TEXT.replaceAll("\n", "\r\n"), slice: 11 });
    const crlf = await collect();
    expect(crlf).toEqual(lf);
  });

  it("tool calls: deltas split across chunks assemble into both calls; finish reason tool_calls", async () => {
    upstream.reply({ body: TOOLS, slice: 5 });
    const { events, error } = await collect();
    expect(error).toBeUndefined();
    expect(textOf(events)).toBe("");
    const calls = toolCallsOf(events);
    expect(calls).toEqual([
      {
        id: "call_DdmO9pD3xa9XTPNJ32zg2hcA",
        name: "get_weather",
        arguments: '{"location": "Zürich, CH", "unit": "celsius"}',
      },
      { id: "call_ABqB1hA9Xr1B8oj0iXx6nGNb", name: "get_time", arguments: '{"tz": "Asia/Tokyo"}' },
    ]);
    expect(JSON.parse(calls[0]!.arguments)).toEqual({ location: "Zürich, CH", unit: "celsius" });
    expect(events.at(-1)).toEqual({
      type: "finish",
      finishReason: "tool_calls",
      usage: { ...ZERO_DETAILS, promptTokens: 82, completionTokens: 47 },
    });
  });

  it.each([
    [429, "rate_limited", { "retry-after": "7" }, 7000],
    [500, "server", {}, undefined],
    [503, "server", {}, undefined],
    [401, "auth", {}, undefined],
    [403, "auth", {}, undefined],
    [400, "client", {}, undefined],
  ] as const)(
    "HTTP %i → %s, without the provider's error text",
    async (status, errorClass, headers, retryAfterMs) => {
      // OpenAI's documented error body; providers may quote the request in `message`.
      const body = JSON.stringify({
        error: { message: `Rejected: ${PROMPT}`, type: "invalid_request_error", param: null, code: null },
      });
      upstream.reply({ status, headers: { "content-type": "application/json", ...headers }, body });
      const { events, error } = await collect();
      expect(events).toEqual([]);
      expect(error).toMatchObject({ errorClass, status, retryAfterMs });
      expect(error!.message).not.toContain(PROMPT);
    },
  );

  it("a connection cut mid-event: the deltas before it, then stream_broken", async () => {
    upstream.reply({ body: cutAfter(TEXT, '{"content":" tous"'), ending: "destroy" });
    const { events, error } = await collect();
    expect(textOf(events)).toBe("Bonjour à");
    expect(events.some((e) => e.type === "finish")).toBe(false);
    expect(error).toMatchObject({ errorClass: "stream_broken" });
  });

  it("a stream that ends cleanly mid-event, before any finish reason, is stream_broken", async () => {
    upstream.reply({ body: cutAfter(TOOLS, '"arguments":"{\\"tz\\"'), ending: "end" });
    const { events, error } = await collect();
    expect(toolCallsOf(events)[0]!.name).toBe("get_weather");
    expect(events.some((e) => e.type === "finish")).toBe(false);
    expect(error).toMatchObject({ errorClass: "stream_broken" });
  });

  it("an event that is not JSON is a protocol error", async () => {
    upstream.reply({ body: `${cutAfter(TEXT, '"content":"Bonjour"}')}\n\ndata: {"choices":[{"delta":\n\n` });
    const { error } = await collect();
    expect(error).toMatchObject({ errorClass: "protocol" });
  });

  it("the caller's abort mid-stream ends it as aborted", async () => {
    upstream.reply({ body: cutAfter(TEXT, BONJOUR), ending: "hang" });
    const ac = new AbortController();
    const { events, error } = await collect({ signal: ac.signal }, (ev) => {
      if (ev.type === "delta" && ev.content) ac.abort();
    });
    expect(textOf(events)).toBe("Bonjour");
    expect(error).toMatchObject({ errorClass: "aborted" });
  });

  it("silence before the first token is timeout_first_token; after it, timeout_idle", async () => {
    // Whole slices: the timers are short, the prefix must not trickle in past them.
    upstream.reply({ body: cutAfter(TEXT, ROLE), ending: "hang", slice: 1 << 16 });
    const first = await collect({ firstTokenTimeoutMs: 50 });
    expect(first.events).toHaveLength(1);
    expect(first.error).toMatchObject({ errorClass: "timeout_first_token" });
    upstream.reply({ body: cutAfter(TEXT, BONJOUR), ending: "hang", slice: 1 << 16 });
    const idle = await collect({ idleTimeoutMs: 50 });
    expect(textOf(idle.events)).toBe("Bonjour");
    expect(idle.error).toMatchObject({ errorClass: "timeout_idle" });
  });
});
