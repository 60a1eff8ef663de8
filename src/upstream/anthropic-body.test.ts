import { describe, expect, it } from "vitest";
import { DEFAULT_MAX_TOKENS, toAnthropicBody } from "./anthropic-body.js";
import type { UpstreamRequest } from "./types.js";

/** Our request → the Anthropic Messages API body: every translated field, every refusal. */

const base: UpstreamRequest = { model: "claude-x", messages: [{ role: "user", content: "hi" }] };
const body = (o: Partial<UpstreamRequest>) => toAnthropicBody({ ...base, ...o }, true);
const PNG = "iVBORw0KGgo=";

describe("toAnthropicBody", () => {
  it("sampling parameters, stop, user, top_k, service tier, max_tokens default", () => {
    expect(
      body({
        temperature: 0.3,
        top_p: 0.9,
        stop: ["END"],
        params: { top_k: 40, user: "user-7", service_tier: "default", max_completion_tokens: 10 },
      }),
    ).toEqual({
      model: "claude-x",
      max_tokens: DEFAULT_MAX_TOKENS,
      messages: [{ role: "user", content: [{ type: "text", text: "hi" }] }],
      stream: true,
      temperature: 0.3,
      top_p: 0.9,
      stop_sequences: ["END"],
      top_k: 40,
      metadata: { user_id: "user-7" },
      service_tier: "standard_only",
    });
    expect(body({ max_tokens: 77 }).max_tokens).toBe(77);
  });

  it("content parts: image base64 and URL, PDF with its filename as title, tool results with images", () => {
    const b = body({
      messages: [
        {
          role: "user",
          content: [
            { type: "text", text: "look" },
            { type: "image", source: { kind: "base64", mediaType: "image/png", data: PNG } },
            { type: "image", source: { kind: "url", url: "https://example.com/a.jpg" }, detail: "auto" },
            {
              type: "file",
              source: { kind: "base64", mediaType: "application/pdf", data: "JVBERi0=" },
              filename: "a.pdf",
            },
          ],
        },
        {
          role: "assistant",
          content: "",
          tool_calls: [{ id: "t1", type: "function", function: { name: "shot", arguments: '{"x":1}' } }],
        },
        {
          role: "tool",
          tool_call_id: "t1",
          content: [
            { type: "text", text: "here" },
            { type: "image", source: { kind: "base64", mediaType: "image/jpeg", data: PNG } },
          ],
        },
      ],
    });
    expect(b.messages).toEqual([
      {
        role: "user",
        content: [
          { type: "text", text: "look" },
          { type: "image", source: { type: "base64", media_type: "image/png", data: PNG } },
          { type: "image", source: { type: "url", url: "https://example.com/a.jpg" } },
          {
            type: "document",
            source: { type: "base64", media_type: "application/pdf", data: "JVBERi0=" },
            title: "a.pdf",
          },
        ],
      },
      { role: "assistant", content: [{ type: "tool_use", id: "t1", name: "shot", input: { x: 1 } }] },
      {
        role: "user",
        content: [
          {
            type: "tool_result",
            tool_use_id: "t1",
            content: [
              { type: "text", text: "here" },
              { type: "image", source: { type: "base64", media_type: "image/jpeg", data: PNG } },
            ],
          },
        ],
      },
    ]);
  });

  it("tool_choice and parallel_tool_calls: false → disable_parallel_tool_use", () => {
    const tools: UpstreamRequest["tools"] = [{ type: "function", function: { name: "f", description: "d" } }];
    expect(body({ tools }).tools).toEqual([
      { name: "f", description: "d", input_schema: { type: "object", properties: {} } },
    ]);
    expect(body({ tools, tool_choice: "required" }).tool_choice).toEqual({ type: "any" });
    expect(body({ tools, tool_choice: "none" }).tool_choice).toEqual({ type: "none" });
    expect(body({ tools, tool_choice: { type: "function", function: { name: "f" } } }).tool_choice).toEqual({
      type: "tool",
      name: "f",
    });
    expect(body({ tools, params: { parallel_tool_calls: false } }).tool_choice).toEqual({
      type: "auto",
      disable_parallel_tool_use: true,
    });
    expect(
      body({ tools, tool_choice: "required", params: { parallel_tool_calls: false } }).tool_choice,
    ).toEqual({ type: "any", disable_parallel_tool_use: true });
    expect(body({ tools, params: { parallel_tool_calls: true } }).tool_choice).toBeUndefined();
  });

  it("reasoning_effort → thinking with a budget share of max_tokens (OpenRouter's ratios)", () => {
    expect(body({ max_tokens: 10_000, params: { reasoning_effort: "high" } }).thinking).toEqual({
      type: "enabled",
      budget_tokens: 8000,
    });
    expect(body({ max_tokens: 10_000, params: { reasoning_effort: "low" } }).thinking).toEqual({
      type: "enabled",
      budget_tokens: 2000,
    });
    // At least Anthropic's minimum of 1024.
    expect(body({ max_tokens: 4000, params: { reasoning_effort: "minimal" } }).thinking).toEqual({
      type: "enabled",
      budget_tokens: 1024,
    });
    expect(body({ params: { reasoning_effort: "none" } }).thinking).toEqual({ type: "disabled" });
    expect(() => body({ max_tokens: 1000, params: { reasoning_effort: "high" } })).toThrow(/max_tokens/);
  });

  it("response_format json_schema → output_config.format; json_object refused", () => {
    const schema = { type: "object", properties: { a: { type: "string" } }, additionalProperties: false };
    expect(
      body({
        params: {
          response_format: { type: "json_schema", json_schema: { name: "x", schema, strict: true } },
        },
      }).output_config,
    ).toEqual({ format: { type: "json_schema", schema } });
    expect(body({ params: { response_format: { type: "text" } } }).output_config).toBeUndefined();
    expect(() => body({ params: { response_format: { type: "json_object" } } })).toThrow(/response_format/);
  });

  it.each([
    ["temperature above 1", { temperature: 1.5 }, /temperature/],
    ["seed", { seed: 1 }, /seed/],
    ["an untranslated parameter", { params: { presence_penalty: 1 } }, /presence_penalty/],
    ["service tier flex", { params: { service_tier: "flex" } }, /service_tier/],
    [
      "audio",
      { messages: [{ role: "user", content: [{ type: "audio", data: "AAAA", format: "wav" }] }] },
      /audio/,
    ],
    [
      "image detail",
      {
        messages: [
          {
            role: "user",
            content: [{ type: "image", source: { kind: "url", url: "https://e.com/a.png" }, detail: "low" }],
          },
        ],
      },
      /detail/,
    ],
    [
      "a non-PDF file",
      {
        messages: [
          {
            role: "user",
            content: [{ type: "file", source: { kind: "base64", mediaType: "text/csv", data: "YQ==" } }],
          },
        ],
      },
      /PDF/,
    ],
  ] as const)("refuses %s as a client error, naming it", (_, o, message) => {
    let err: unknown;
    try {
      body(o as Partial<UpstreamRequest>);
    } catch (e) {
      err = e;
    }
    expect(err).toMatchObject({ errorClass: "client" });
    expect((err as Error).message).toMatch(message);
  });
});
