import { describe, expect, it } from "vitest";
import { InvalidFieldError } from "../../encoding/index.js";
import { fromResponsesBody } from "./responses-body.js";

const base = { model: "sim/chat-small", input: "hi" };

function refusal(body: Record<string, unknown>): string | undefined {
  try {
    fromResponsesBody({ ...base, ...body });
  } catch (err) {
    if (err instanceof InvalidFieldError) return err.field;
    throw err;
  }
  return undefined;
}

describe("fromResponsesBody", () => {
  it("translates each supported field onto the internal request", () => {
    const { route, options } = fromResponsesBody({
      ...base,
      instructions: "sys",
      max_output_tokens: 100,
      temperature: 0.2,
      top_p: 0.9,
      top_logprobs: 3,
      include: ["message.output_text.logprobs"],
      metadata: { team: "search" },
      user: "u",
      safety_identifier: "s",
      prompt_cache_key: "k",
      prompt_cache_retention: "24h",
      service_tier: "flex",
      reasoning: { effort: "low", summary: "auto" },
      text: { format: { type: "json_object" }, verbosity: "high" },
      tools: [{ type: "function", name: "f", parameters: { type: "object" }, strict: null }],
      tool_choice: { type: "allowed_tools", mode: "required", tools: [{ type: "function", name: "f" }] },
      parallel_tool_calls: false,
      truncation: "disabled",
      store: false,
      stream: true,
      stream_options: { include_obfuscation: false },
      provider: { only: ["sim-eu"] },
    });
    expect(route.messages).toEqual([
      { role: "system", content: "sys" },
      { role: "user", content: "hi" },
    ]);
    expect(route).toMatchObject({
      maxTokens: 100,
      temperature: 0.2,
      topP: 0.9,
      labels: { team: "search" },
      toolChoice: "required",
      tools: [{ type: "function", function: { name: "f", parameters: { type: "object" }, strict: true } }],
      provider: { only: ["sim-eu"] },
    });
    expect(route.params).toEqual({
      store: false,
      max_completion_tokens: 100,
      parallel_tool_calls: false,
      logprobs: true,
      top_logprobs: 3,
      response_format: { type: "json_object" },
      verbosity: "high",
      reasoning_effort: "low",
      reasoning_summary: "auto",
      user: "u",
      safety_identifier: "s",
      prompt_cache_key: "k",
      prompt_cache_retention: "24h",
      service_tier: "flex",
    });
    expect(options).toMatchObject({ stream: true, obfuscation: false, logprobs: true });
    expect(options.echo).toMatchObject({ instructions: "sys", parallel_tool_calls: false, top_logprobs: 3 });
  });

  it("a tool with strict: false is not strict; a json_schema format becomes response_format", () => {
    const { route } = fromResponsesBody({
      ...base,
      tools: [{ type: "function", name: "f", parameters: null, strict: false }],
      tool_choice: { type: "function", name: "f" },
      text: { format: { type: "json_schema", name: "out", schema: { type: "object" }, strict: true } },
    });
    expect(route.tools).toEqual([{ type: "function", function: { name: "f" } }]);
    expect(route.toolChoice).toEqual({ type: "function", function: { name: "f" } });
    expect(route.params?.response_format).toEqual({
      type: "json_schema",
      json_schema: { name: "out", schema: { type: "object" }, strict: true },
    });
  });

  it("refuses, naming the field, whatever it cannot honour", () => {
    expect(refusal({ prompt_cache_options: { mode: "explicit" } })).toBe("prompt_cache_options");
    expect(refusal({ context_management: [{ type: "compaction" }] })).toBe("context_management");
    expect(refusal({ reasoning: { mode: "pro" } })).toBe("reasoning.mode");
    expect(refusal({ text: { format: { type: "grammar" } } })).toBe("text.format.type");
    expect(refusal({ tools: [{ type: "function", name: "f", strict: false, defer_loading: true }] })).toBe(
      "tools[0].defer_loading",
    );
    expect(refusal({ tool_choice: { type: "function", name: "absent" } })).toBe("tool_choice");
    expect(refusal({ max_output_tokens: 0 })).toBe("max_output_tokens");
    expect(refusal({ input: [] })).toBe("input");
    expect(refusal({ input: undefined })).toBe("input");
    expect(refusal({ input: [{ role: "assistant", content: "x", phase: "final_answer" }] })).toBe(
      "input[0].phase",
    );
    expect(refusal({ input: [{ role: "assistant", content: [{ type: "refusal", refusal: "no" }] }] })).toBe(
      "input[0].content[0].type",
    );
    expect(
      refusal({
        input: [{ role: "user", content: [{ type: "input_image", image_url: "data:image/png;base64,@@" }] }],
      }),
    ).toBe("input[0].content[0].image_url");
    expect(
      refusal({ input: [{ type: "function_call_output", call_id: "c", output: [{ type: "input_image" }] }] }),
    ).toBe("input[0].output[0].type");
    // An empty reasoning item carries nothing and is accepted.
    expect(
      refusal({
        input: [
          { type: "reasoning", id: "rs", summary: [] },
          { role: "user", content: "hi" },
        ],
      }),
    ).toBe(undefined);
  });

  it("never echoes a refused value in its message", () => {
    const secret = "data:image/png;base64,c2VjcmV0LWNhbmFyeQ==!";
    try {
      fromResponsesBody({
        ...base,
        input: [{ role: "user", content: [{ type: "input_image", image_url: secret }] }],
      });
      expect.unreachable();
    } catch (err) {
      expect(String((err as Error).message)).not.toContain("c2VjcmV0");
    }
  });
});
