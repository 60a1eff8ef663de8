import { describe, expect, it } from "vitest";
import { effortOf, fromMessagesBody } from "./messages-body.js";

/** Messages API body → RouteRequest: translations, and refusals naming the Messages API field. */

const base = { model: "a/b", max_tokens: 2000, messages: [{ role: "user", content: "hi" }] };
const parse = (o: Record<string, unknown>) => fromMessagesBody({ ...base, ...o });
const fieldOf = (o: Record<string, unknown>): string | undefined => {
  try {
    parse(o);
  } catch (e) {
    return (e as { field?: string }).field;
  }
  return undefined;
};

describe("fromMessagesBody", () => {
  it("system blocks, tool results before the user's other parts, thinking blocks left out", () => {
    const { route } = parse({
      system: [{ type: "text", text: "Be brief." }],
      messages: [
        { role: "user", content: "weather?" },
        {
          role: "assistant",
          content: [
            { type: "thinking", thinking: "…", signature: "s" },
            { type: "text", text: "Checking." },
            { type: "tool_use", id: "t1", name: "w", input: { city: "Bern" } },
          ],
        },
        {
          role: "user",
          content: [
            { type: "text", text: "and?" },
            { type: "tool_result", tool_use_id: "t1", content: [{ type: "text", text: "sunny" }] },
          ],
        },
      ],
    });
    expect(route.messages).toEqual([
      { role: "system", content: [{ type: "text", text: "Be brief." }] },
      { role: "user", content: "weather?" },
      {
        role: "assistant",
        content: "Checking.",
        tool_calls: [{ id: "t1", type: "function", function: { name: "w", arguments: '{"city":"Bern"}' } }],
      },
      { role: "tool", tool_call_id: "t1", content: [{ type: "text", text: "sunny" }] },
      { role: "user", content: [{ type: "text", text: "and?" }] },
    ]);
  });

  it("parameters onto our names", () => {
    const schema = { type: "object", properties: {} };
    const { route, stream, fieldNames } = parse({
      stream: true,
      temperature: 0.5,
      top_k: 7,
      stop_sequences: ["X"],
      metadata: { user_id: "u" },
      service_tier: "standard_only",
      tool_choice: { type: "auto", disable_parallel_tool_use: true },
      tools: [{ name: "f", input_schema: schema }],
      thinking: { type: "enabled", budget_tokens: 1024 },
      output_config: { format: { type: "json_schema", schema } },
      provider: { only: ["p"] },
      region: "eu",
    });
    expect(stream).toBe(true);
    expect(route).toMatchObject({
      maxTokens: 2000,
      temperature: 0.5,
      stop: ["X"],
      toolChoice: "auto",
      tools: [{ type: "function", function: { name: "f", parameters: schema } }],
      region: "eu",
      provider: { only: ["p"] },
      params: {
        top_k: 7,
        user: "u",
        service_tier: "default",
        parallel_tool_calls: false,
        reasoning_effort: "medium",
        response_format: { type: "json_schema", json_schema: { name: "output", schema, strict: true } },
      },
    });
    expect(fieldNames).toMatchObject({ user: "metadata.user_id", reasoning_effort: "thinking" });
  });

  it("thinking budget → effort: the nearest of the adapter's shares", () => {
    expect(effortOf(9500, 10_000)).toBe("xhigh");
    expect(effortOf(8000, 10_000)).toBe("high");
    expect(effortOf(5000, 10_000)).toBe("medium");
    expect(effortOf(2000, 10_000)).toBe("low");
    expect(effortOf(1024, 10_000)).toBe("minimal");
  });

  it("refusals name the Messages API field, also for checks made on our request", () => {
    expect(fieldOf({ max_tokens: undefined })).toBe("max_tokens");
    expect(fieldOf({ container: "c" })).toBe("container");
    expect(fieldOf({ cache_control: { type: "ephemeral" } })).toBe("cache_control");
    expect(fieldOf({ stop_sequences: ["a", "b", "c", "d", "e"] })).toBe("stop_sequences");
    expect(fieldOf({ tools: [{ name: "", input_schema: {} }] })).toBe("tools[0].name");
    expect(fieldOf({ tool_choice: { type: "tool", name: "nope" } })).toBe("tool_choice");
    expect(fieldOf({ thinking: { type: "enabled", budget_tokens: 5000 } })).toBe("thinking.budget_tokens");
    expect(fieldOf({ metadata: { user_id: "u", other: 1 } })).toBe("metadata.other");
    expect(
      fieldOf({
        messages: [
          { role: "user", content: "a" },
          {
            role: "assistant",
            content: [{ type: "image", source: { type: "url", url: "https://e.com/a.png" } }],
          },
        ],
      }),
    ).toBe("messages[1].content[0].type");
    expect(
      fieldOf({
        messages: [{ role: "user", content: [{ type: "image", source: { type: "file", file_id: "f" } }] }],
      }),
    ).toBe("messages[0].content[0].source.type");
  });
});
