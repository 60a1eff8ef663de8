import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Anthropic from "@anthropic-ai/sdk";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { appDatabases, startTestApp, type TestApp } from "../support/app.js";
import {
  type RecordingUpstream,
  startRecordingAnthropicUpstream,
} from "../support/recording-anthropic-upstream.js";
import { outcomeOf } from "../support/routing-app.js";

/**
 * The inbound Anthropic Messages API (`POST /v1/messages`) with the real `@anthropic-ai/sdk`
 * client: only `baseURL` and `apiKey` (a sovr key, sent as `x-api-key`) differ from calling
 * Anthropic. One model, `test/vision`, has three endpoints on a recording fake upstream: one
 * speaking the Anthropic API (text, images, PDFs), one OpenAI-compatible taking images, and the
 * cheapest, OpenAI-compatible and text only. The fake records each body, so every test asserts
 * what arrived upstream, and that a refused request sent nothing.
 */
const CATALOG = `
provider: fake-anthropic
name: Fake Anthropic
headquarters: FR
policy: { retention_days: 0, trains_on_data: false, caching: none, residency: { region: eu, country: DE } }
endpoints:
  - id: fake-anthropic/vision
    model: test/vision
    upstream_model: claude-fake
    api: anthropic
    base_url: \${FAKE_UPSTREAM_URL}/anthropic/v1
    api_key_env: FAKE_PROVIDER_KEY
    pricing: { prompt: 3, completion: 3 }
    context_length: 200000
    supported_parameters: [temperature, top_p, top_k, max_tokens, stop, tools, tool_choice, parallel_tool_calls, user, reasoning_effort, service_tier, image_urls]
    input_modalities: [text, image, file]
---
provider: fake-openai
name: Fake OpenAI
headquarters: FR
policy: { retention_days: 0, trains_on_data: false, caching: none, residency: { region: eu, country: FR } }
endpoints:
  - id: fake-openai/vision
    model: test/vision
    upstream_model: gpt-fake
    api: openai
    base_url: \${FAKE_UPSTREAM_URL}/openai/v1
    api_key_env: FAKE_PROVIDER_KEY
    pricing: { prompt: 2, completion: 2 }
    context_length: 128000
    supported_parameters: [temperature, top_p, max_tokens, stop, tools, tool_choice]
    input_modalities: [text, image]
  - id: fake-openai/text
    model: test/vision
    upstream_model: gpt-fake-text
    api: openai
    base_url: \${FAKE_UPSTREAM_URL}/openai/v1
    api_key_env: FAKE_PROVIDER_KEY
    pricing: { prompt: 1, completion: 1 }
    context_length: 128000
    supported_parameters: [temperature, top_p, max_tokens, stop, tools, tool_choice]
`;

const PROVIDER_KEY = "sk-fake-provider-key";
const PNG =
  "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==";
/** Our routing extensions are not in the SDK's types; they travel as extra body fields. */
const only = (...ids: string[]) => ({ provider: { only: ids } }) as object;

describe.each(appDatabases)("Anthropic Messages API (%s)", (database) => {
  let t: TestApp;
  let fake: RecordingUpstream;
  let client: Anthropic;

  beforeAll(async () => {
    fake = await startRecordingAnthropicUpstream();
    const dir = await mkdtemp(join(tmpdir(), "sovr-anthropic-catalog-"));
    await writeFile(join(dir, "fake.yaml"), CATALOG);
    t = await startTestApp({
      database,
      auth: true,
      catalogDir: dir,
      env: {
        FAKE_UPSTREAM_URL: fake.url,
        FAKE_PROVIDER_KEY: PROVIDER_KEY,
        SOVR_CATALOG_URL_VARS: "FAKE_UPSTREAM_URL",
        SOVR_PROVIDER_KEY_VARS: "FAKE_PROVIDER_KEY",
        SOVR_CATALOG_WATCH: "off",
      },
    });
    client = new Anthropic({ baseURL: t.app.httpUrl, apiKey: t.devKey!, maxRetries: 0 });
  });
  afterAll(async () => {
    await t?.close();
    await fake?.close();
  });

  /** The upstream request the call made (exactly one), or a failure. */
  async function upstreamOf<T>(
    call: () => Promise<T>,
  ): Promise<{ result: T; sent: Record<string, unknown> }> {
    const before = fake.requests.length;
    const result = await call();
    expect(fake.requests.length - before).toBe(1);
    return { result, sent: fake.requests.at(-1)!.body };
  }

  it("messages.create: system, sampling and user id reach the Anthropic upstream; a Message comes back", async () => {
    fake.replyWith({
      text: "Hello from the fake upstream.",
      usage: { input: 21, output: 7, cacheRead: 100 },
    });
    const before = fake.requests.length;
    const { data, response } = await client.messages
      .create({
        model: "test/vision",
        max_tokens: 300,
        system: "Be brief.",
        messages: [{ role: "user", content: "Say hello." }],
        stop_sequences: ["###"],
        metadata: { user_id: "user-42" },
        ...({ temperature: 0.2, top_p: 0.9, top_k: 5 } as object),
        ...only("fake-anthropic"),
      })
      .withResponse();
    expect(fake.requests.length - before).toBe(1);
    const up = fake.requests.at(-1)!;
    expect(up.path).toBe("/anthropic/v1/messages");
    // The provider's key goes upstream, never the caller's sovr key.
    expect(up.headers["x-api-key"]).toBe(PROVIDER_KEY);
    expect(JSON.stringify(up.headers)).not.toContain(t.devKey!);
    expect(up.body).toEqual({
      model: "claude-fake",
      max_tokens: 300,
      stream: true,
      system: "Be brief.",
      messages: [{ role: "user", content: [{ type: "text", text: "Say hello." }] }],
      temperature: 0.2,
      top_p: 0.9,
      top_k: 5,
      stop_sequences: ["###"],
      metadata: { user_id: "user-42" },
    });
    expect(data).toMatchObject({
      type: "message",
      role: "assistant",
      model: "test/vision",
      content: [{ type: "text", text: "Hello from the fake upstream." }],
      stop_reason: "end_turn",
      usage: {
        input_tokens: 21,
        output_tokens: 7,
        cache_read_input_tokens: 100,
        cache_creation_input_tokens: 0,
      },
    });
    expect(data.id).toMatch(/^msg_[0-9a-f]{32}$/);
    const id = response.headers.get("x-sovr-decision-id")!;
    expect(response.headers.get("x-sovr-endpoint")).toBe("fake-anthropic/vision");
    expect(response.headers.get("x-sovr-unapplied-parameters")).toBeNull();
    expect(await outcomeOf(t, id)).toMatchObject({
      outcome: "success",
      endpoint_used: "fake-anthropic/vision",
    });
  });

  it("messages.stream → finalMessage: thinking (budget ⇄ reasoning effort) and text blocks", async () => {
    fake.replyWith({ thinking: "Short answer.", text: "Hi there!" });
    const { result, sent } = await upstreamOf(() =>
      client.messages
        .stream({
          model: "test/vision",
          max_tokens: 10_000,
          thinking: { type: "enabled", budget_tokens: 8000 },
          messages: [{ role: "user", content: "Greet me." }],
          ...only("fake-anthropic"),
        })
        .finalMessage(),
    );
    // 8000 of 10000 is "high", which the Anthropic adapter sends as 80% of max_tokens again.
    expect(sent.thinking).toEqual({ type: "enabled", budget_tokens: 8000 });
    expect(result.content).toEqual([
      { type: "thinking", thinking: "Short answer.", signature: "" },
      { type: "text", text: "Hi there!" },
    ]);
    expect(result.stop_reason).toBe("end_turn");
    expect(result.usage).toMatchObject({ input_tokens: 21, output_tokens: 7 });
  });

  const tools: Anthropic.Tool[] = [
    {
      name: "get_weather",
      description: "Weather for a city",
      input_schema: { type: "object", properties: { city: { type: "string" } }, required: ["city"] },
    },
  ];

  it.each([
    ["fake-anthropic", "/anthropic/v1/messages"],
    ["fake-openai", "/openai/v1/chat/completions"],
  ])("tools round trip via %s: tool_use, then tool_result", async (provider, path) => {
    fake.replyWith({ text: "It is sunny." });
    const first = await upstreamOf(() =>
      client.messages.create({
        model: "test/vision",
        max_tokens: 200,
        tools,
        tool_choice: { type: "any", disable_parallel_tool_use: true },
        messages: [{ role: "user", content: "Weather in Zürich?" }],
        ...only(provider),
      }),
    );
    expect(fake.requests.at(-1)!.path).toBe(path);
    const call = first.result.content.find((b) => b.type === "tool_use")!;
    expect(call).toMatchObject({ type: "tool_use", name: "get_weather", input: { city: "Zürich" } });
    expect(first.result.stop_reason).toBe("tool_use");
    if (provider === "fake-anthropic") {
      expect(first.sent.tools).toEqual([
        { name: "get_weather", description: "Weather for a city", input_schema: tools[0]!.input_schema },
      ]);
      expect(first.sent.tool_choice).toEqual({ type: "any", disable_parallel_tool_use: true });
    } else {
      expect(first.sent.tool_choice).toBe("required");
      expect(first.sent.tools).toEqual([
        {
          type: "function",
          function: {
            name: "get_weather",
            description: "Weather for a city",
            parameters: tools[0]!.input_schema,
          },
        },
      ]);
    }

    const second = await upstreamOf(() =>
      client.messages.create({
        model: "test/vision",
        max_tokens: 200,
        tools,
        messages: [
          { role: "user", content: "Weather in Zürich?" },
          { role: "assistant", content: first.result.content },
          { role: "user", content: [{ type: "tool_result", tool_use_id: call.id, content: "sunny, 21 °C" }] },
        ],
        ...only(provider),
      }),
    );
    expect(second.result.content).toEqual([{ type: "text", text: "It is sunny." }]);
    const sent = second.sent.messages as unknown[];
    if (provider === "fake-anthropic") {
      expect(sent.slice(1)).toEqual([
        {
          role: "assistant",
          content: [{ type: "tool_use", id: call.id, name: "get_weather", input: { city: "Zürich" } }],
        },
        { role: "user", content: [{ type: "tool_result", tool_use_id: call.id, content: "sunny, 21 °C" }] },
      ]);
    } else {
      expect(sent.slice(1)).toMatchObject([
        {
          role: "assistant",
          tool_calls: [
            {
              id: call.id,
              type: "function",
              function: { name: "get_weather", arguments: '{"city":"Zürich"}' },
            },
          ],
        },
        { role: "tool", tool_call_id: call.id, content: "sunny, 21 °C" },
      ]);
    }
  });

  const imageMessage: Anthropic.MessageParam = {
    role: "user",
    content: [
      { type: "text", text: "What is in this picture?" },
      { type: "image", source: { type: "base64", media_type: "image/png", data: PNG } },
    ],
  };

  it.each([
    ["fake-anthropic", "fake-anthropic/vision"],
    ["fake-openai", "fake-openai/vision"],
  ])(
    "an image block goes only to an endpoint taking images (%s, never the cheaper text-only one)",
    async (provider, endpoint) => {
      fake.replyWith({ text: "A single pixel." });
      const { result, sent } = await upstreamOf(() =>
        client.messages
          .create({
            model: "test/vision",
            max_tokens: 100,
            messages: [imageMessage],
            ...only("fake-openai/text", provider),
          })
          .withResponse(),
      );
      expect(result.response.headers.get("x-sovr-endpoint")).toBe(endpoint);
      const content = (sent.messages as { content: unknown }[])[0]!.content;
      if (provider === "fake-anthropic") {
        expect(content).toEqual([
          { type: "text", text: "What is in this picture?" },
          { type: "image", source: { type: "base64", media_type: "image/png", data: PNG } },
        ]);
      } else {
        // The image's bytes arrive in the second part (the OpenAI adapter's wire form).
        expect(Array.isArray(content) && (content as unknown[]).length).toBe(2);
        expect(JSON.stringify((content as unknown[])[1])).toContain(PNG);
      }
      expect(result.data.content).toEqual([{ type: "text", text: "A single pixel." }]);
    },
  );

  it("an image with only text endpoints allowed: no eligible endpoint (403), nothing sent upstream", async () => {
    const before = fake.requests.length;
    const err = await client.messages
      .create({
        model: "test/vision",
        max_tokens: 100,
        messages: [imageMessage],
        ...only("fake-openai/text"),
      })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Anthropic.PermissionDeniedError);
    const body = (err as InstanceType<typeof Anthropic.APIError>).error as {
      type: string;
      error: {
        type: string;
        code: string;
        metadata: { candidates: { endpoint_id: string; exclusions: { reason: string }[] }[] };
      };
    };
    expect(body.type).toBe("error");
    expect(body.error.type).toBe("permission_error");
    expect(body.error.code).toBe("no_eligible_endpoint");
    expect(JSON.stringify(body.error.metadata)).toMatch(/image/);
    expect(fake.requests.length).toBe(before);
  });

  it("advisory parameters an OpenAI endpoint does not take are named, by their Messages API names", async () => {
    fake.replyWith({ text: "ok" });
    const { result, sent } = await upstreamOf(() =>
      client.messages
        .create({
          model: "test/vision",
          max_tokens: 50,
          metadata: { user_id: "user-42" },
          messages: [{ role: "user", content: "hi" }],
          ...({ top_k: 3 } as object),
          ...only("fake-openai/vision"),
        })
        .withResponse(),
    );
    expect(result.response.headers.get("x-sovr-unapplied-parameters")).toBe("top_k, metadata.user_id");
    expect(sent.top_k).toBeUndefined();
    expect(sent.user).toBeUndefined();
    expect(sent.max_tokens).toBe(50);
  });

  it.each([
    ["container", { container: "cntr_1" }],
    ["mcp_servers", { mcp_servers: [{ type: "url", url: "https://mcp.example", name: "x" }] }],
    ["inference_geo", { inference_geo: "us" }],
    ["no_such_field", { no_such_field: 1 }],
    [
      "system[0].cache_control",
      { system: [{ type: "text", text: "x", cache_control: { type: "ephemeral" } }] },
    ],
    ["tools[0].type", { tools: [{ type: "web_search_20250305", name: "web_search" }] }],
    ["thinking.type", { thinking: { type: "adaptive" } }],
    ["temperature", { temperature: 1.5 }],
    ["output_config.effort", { output_config: { effort: "max" } }],
    [
      "messages[0].content[0].is_error",
      {
        messages: [
          {
            role: "user",
            content: [{ type: "tool_result", tool_use_id: "t", content: "x", is_error: true }],
          },
        ],
      },
    ],
    [
      "messages[0].content[0].source",
      {
        messages: [
          {
            role: "user",
            content: [{ type: "document", source: { type: "url", url: "https://e.com/a.pdf" } }],
          },
        ],
      },
    ],
  ])("refused with 400 naming %s; nothing goes upstream", async (param, fields) => {
    const before = fake.requests.length;
    const err = await client.messages
      .create({
        model: "test/vision",
        max_tokens: 100,
        messages: [{ role: "user", content: "hi" }],
        ...(fields as object),
      })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Anthropic.BadRequestError);
    const body = (err as InstanceType<typeof Anthropic.APIError>).error as {
      type: string;
      error: { type: string; param: string; message: string };
    };
    expect(body).toMatchObject({ type: "error", error: { type: "invalid_request_error", param } });
    expect(fake.requests.length).toBe(before);
  });

  it("the key as authorization: Bearer works too; a wrong key is 401 in Anthropic's shape", async () => {
    fake.replyWith({ text: "ok" });
    const bearer = new Anthropic({
      baseURL: t.app.httpUrl,
      apiKey: null,
      authToken: t.devKey!,
      maxRetries: 0,
    });
    const msg = await bearer.messages.create({
      model: "test/vision",
      max_tokens: 10,
      messages: [{ role: "user", content: "hi" }],
      ...only("fake-anthropic"),
    });
    expect(msg.content).toEqual([{ type: "text", text: "ok" }]);
    const wrong = new Anthropic({ baseURL: t.app.httpUrl, apiKey: "sovr_wrong", maxRetries: 0 });
    const err = await wrong.messages
      .create({ model: "test/vision", max_tokens: 10, messages: [{ role: "user", content: "hi" }] })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Anthropic.AuthenticationError);
    expect((err as InstanceType<typeof Anthropic.APIError>).error).toMatchObject({
      type: "error",
      error: { type: "authentication_error" },
    });
  });
});
