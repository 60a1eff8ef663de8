import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AnthropicAdapter } from "./anthropic-adapter.js";
import { drain, textOf, toolCallsOf } from "./fixtures/events.js";
import {
  cutAfter,
  fixture,
  type RecordedUpstream,
  startRecordedUpstream,
} from "./fixtures/recorded-upstream.js";
import { PoolSet } from "./http-call.js";
import type { UpstreamCallOptions, UpstreamEvent, UpstreamRequest } from "./types.js";

/**
 * The Anthropic adapter against recorded Messages API streams (src/upstream/fixtures, written
 * from Anthropic's documented streaming format), served by a real HTTP server on port 0 in small
 * slices, so that events, JSON and UTF-8 characters arrive split across reads.
 */

let upstream: RecordedUpstream;
let pools: PoolSet;
let adapter: AnthropicAdapter;
beforeAll(async () => {
  upstream = await startRecordedUpstream();
  pools = new PoolSet(4);
  adapter = new AnthropicAdapter(pools);
});
afterAll(async () => {
  await pools?.close();
  await upstream?.close();
});

const TOOL_USE = fixture("anthropic-tool-use.sse");
const ERROR = fixture("anthropic-error.sse");
const THINKING = fixture("anthropic-thinking.sse");
const PROMPT = "a prompt that must never reach an error message";
const request: UpstreamRequest = {
  model: "claude-sonnet-4-20250514",
  messages: [
    { role: "system", content: "Answer briefly." },
    { role: "user", content: PROMPT },
  ],
  tools: [
    {
      type: "function",
      function: { name: "get_weather", parameters: { type: "object", properties: { location: {} } } },
    },
  ],
};
const options = (o: Partial<UpstreamCallOptions> = {}): UpstreamCallOptions => ({
  connectTimeoutMs: 2000,
  firstTokenTimeoutMs: 5000,
  idleTimeoutMs: 5000,
  requestId: "0190f5c4-0000-7000-8000-000000000002",
  ...o,
});
const collect = (o: Partial<UpstreamCallOptions> = {}, onEvent?: (ev: UpstreamEvent) => void) =>
  drain(
    adapter.stream({ baseUrl: `${upstream.url}/v1`, apiKey: "sk-ant-test" }, request, options(o)),
    onEvent,
  );

/** The end of the first text_delta event in the recorded streams. */
const FIRST_TEXT = '"text": "Je regarde"}}\n\n';

describe("AnthropicAdapter.stream (recorded streams)", () => {
  it("text then two tool_use blocks: typed deltas, assembled calls, usage from message_start and message_delta", async () => {
    upstream.reply({ body: TOOL_USE });
    const { events, error } = await collect();
    expect(error).toBeUndefined();
    expect(events[0]).toEqual({ type: "delta", role: "assistant" });
    expect(textOf(events)).toBe("Je regarde la météo à Zürich.");
    // Content blocks 1 and 2 are tool calls 0 and 1, each announced with id and name first.
    expect(events.find((e) => e.type === "delta" && e.toolCalls)).toEqual({
      type: "delta",
      toolCalls: [{ index: 0, id: "toolu_01T1x1fJ34qAmk2tNTrN7Up6", name: "get_weather", arguments: "" }],
    });
    const calls = toolCallsOf(events);
    expect(calls).toEqual([
      {
        id: "toolu_01T1x1fJ34qAmk2tNTrN7Up6",
        name: "get_weather",
        arguments: '{"location": "Zürich, CH", "unit": "celsius"}',
      },
      { id: "toolu_01AbCdEfGhIjKlMnOpQrStUv", name: "get_time", arguments: '{"tz": "Asia/Tokyo"}' },
    ]);
    expect(JSON.parse(calls[1]!.arguments)).toEqual({ tz: "Asia/Tokyo" });
    expect(events.at(-1)).toEqual({
      type: "finish",
      finishReason: "tool_calls",
      usage: { promptTokens: 472, completionTokens: 89 },
    });
  });

  it("thinking deltas come back as reasoning; usage counts cached and cache-written prompt tokens", async () => {
    upstream.reply({ body: THINKING });
    const { events, error } = await collect();
    expect(error).toBeUndefined();
    const reasoning = events.map((e) => (e.type === "delta" ? (e.reasoning ?? "") : "")).join("");
    expect(reasoning).toBe("Zürich is in Switzerland.");
    expect(textOf(events)).toBe("Switzerland.");
    expect(events.at(-1)).toEqual({
      type: "finish",
      finishReason: "stop",
      usage: {
        promptTokens: 2312,
        cachedPromptTokens: 2000,
        cacheWritePromptTokens: 300,
        completionTokens: 57,
      },
    });
  });

  it("sends the Messages API request: headers, system, tools with input_schema, max_tokens", async () => {
    upstream.reply({ body: TOOL_USE, slice: 1 << 16 });
    await collect();
    const sent = upstream.requests.at(-1)!;
    expect(sent.path).toBe("/v1/messages");
    expect(sent.headers["x-api-key"]).toBe("sk-ant-test");
    expect(sent.headers["anthropic-version"]).toBe("2023-06-01");
    expect(sent.headers["x-request-id"]).toBe("0190f5c4-0000-7000-8000-000000000002");
    expect(sent.headers.authorization).toBeUndefined();
    expect(sent.body).toEqual({
      model: "claude-sonnet-4-20250514",
      max_tokens: 4096,
      stream: true,
      system: "Answer briefly.",
      messages: [{ role: "user", content: [{ type: "text", text: PROMPT }] }],
      tools: [{ name: "get_weather", input_schema: { type: "object", properties: { location: {} } } }],
    });
  });

  it("an error event mid-stream (overloaded_error) ends it as a server error, 529", async () => {
    upstream.reply({ body: ERROR });
    const { events, error } = await collect();
    expect(textOf(events)).toBe("Je");
    expect(events.some((e) => e.type === "finish")).toBe(false);
    expect(error).toMatchObject({ errorClass: "server", status: 529 });
  });

  it.each([
    [429, "rate_limit_error", "rate_limited", { "retry-after": "12" }, 12_000],
    [500, "api_error", "server", {}, undefined],
    [529, "overloaded_error", "server", {}, undefined],
    [401, "authentication_error", "auth", {}, undefined],
    [403, "permission_error", "auth", {}, undefined],
    [400, "invalid_request_error", "client", {}, undefined],
  ] as const)(
    "HTTP %i (%s) → %s, without the provider's error text",
    async (status, type, errorClass, headers, retryAfterMs) => {
      // Anthropic's documented error body (https://docs.anthropic.com/en/api/errors).
      const body = JSON.stringify({ type: "error", error: { type, message: `Rejected: ${PROMPT}` } });
      upstream.reply({ status, headers: { "content-type": "application/json", ...headers }, body });
      const { events, error } = await collect();
      expect(events).toEqual([]);
      expect(error).toMatchObject({ errorClass, status, retryAfterMs });
      expect(error!.message).not.toContain(PROMPT);
    },
  );

  it("a connection cut mid-event (inside a tool call's input JSON) is stream_broken", async () => {
    upstream.reply({ body: cutAfter(TOOL_USE, '"partial_json": "{\\"locat'), ending: "destroy" });
    const { events, error } = await collect();
    expect(toolCallsOf(events)).toEqual([
      { id: "toolu_01T1x1fJ34qAmk2tNTrN7Up6", name: "get_weather", arguments: "" },
    ]);
    expect(events.some((e) => e.type === "finish")).toBe(false);
    expect(error).toMatchObject({ errorClass: "stream_broken" });
  });

  it("a stream that ends cleanly after message_delta but without message_stop is stream_broken", async () => {
    upstream.reply({ body: cutAfter(TOOL_USE, '"usage": {"output_tokens": 89}}\n\n') });
    const { events, error } = await collect();
    expect(toolCallsOf(events)).toHaveLength(2);
    expect(events.some((e) => e.type === "finish")).toBe(false);
    expect(error).toMatchObject({ errorClass: "stream_broken" });
  });

  it("the caller's abort mid-stream ends it as aborted", async () => {
    upstream.reply({ body: cutAfter(TOOL_USE, FIRST_TEXT), ending: "hang" });
    const ac = new AbortController();
    const { events, error } = await collect({ signal: ac.signal }, (ev) => {
      if (ev.type === "delta" && ev.content) ac.abort();
    });
    expect(textOf(events)).toBe("Je regarde");
    expect(error).toMatchObject({ errorClass: "aborted" });
  });

  it("pings are not tokens: silence after message_start and pings is timeout_first_token", async () => {
    upstream.reply({ body: cutAfter(TOOL_USE, '"type": "ping"}\n\n'), ending: "hang", slice: 1 << 16 });
    const { events, error } = await collect({ firstTokenTimeoutMs: 50 });
    expect(events).toEqual([{ type: "delta", role: "assistant" }]);
    expect(error).toMatchObject({ errorClass: "timeout_first_token" });
  });

  it("pings keep coming but no content: still timeout_first_token, counted from the request", async () => {
    // Without content for 300 ms, then the stream ends: a first-token timer that each ping
    // restarted would never fire, and the attempt would end as stream_broken much later.
    upstream.reply({
      body: cutAfter(TOOL_USE, '"type": "ping"}\n\n'),
      trickle: { text: 'event: ping\ndata: {"type": "ping"}\n\n', times: 30 },
      slice: 1 << 16,
    });
    const { events, error } = await collect({ firstTokenTimeoutMs: 100 });
    expect(events).toEqual([{ type: "delta", role: "assistant" }]);
    expect(error).toMatchObject({ errorClass: "timeout_first_token" });
  });
});
