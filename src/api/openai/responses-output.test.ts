import { describe, expect, it } from "vitest";
import { OutputBuilder, type StreamEvent } from "./responses-output.js";

const lp = (token: string) => ({ token, logprob: -0.5, bytes: null, top_logprobs: [] });

describe("OutputBuilder", () => {
  it("reasoning, text with logprobs and a refusal, then two tool calls: items in order, each closed once", () => {
    const events: StreamEvent[] = [];
    const b = new OutputBuilder("d1", true, (e) => events.push(e));
    b.add({ type: "delta", reasoning: "think " });
    b.add({ type: "delta", reasoning: "more" });
    b.add({ type: "delta", content: "Hi", logprobs: [lp("Hi")] });
    b.add({ type: "delta", refusal: "no" });
    b.add({ type: "delta", toolCalls: [{ index: 0, id: "c0", name: "f", arguments: '{"a"' }] });
    b.add({ type: "delta", toolCalls: [{ index: 1, id: "c1", name: "g", arguments: "{}" }] });
    b.add({ type: "delta", toolCalls: [{ index: 0, arguments: ":1}" }] });
    b.finish("completed");

    expect(b.output).toEqual([
      { id: "rs_d1_0", type: "reasoning", summary: [{ type: "summary_text", text: "think more" }] },
      {
        id: "msg_d1_1",
        type: "message",
        role: "assistant",
        status: "completed",
        content: [
          {
            type: "output_text",
            text: "Hi",
            annotations: [],
            logprobs: [{ token: "Hi", logprob: -0.5, bytes: [], top_logprobs: [] }],
          },
          { type: "refusal", refusal: "no" },
        ],
      },
      {
        id: "fc_d1_2",
        type: "function_call",
        call_id: "c0",
        name: "f",
        arguments: '{"a":1}',
        status: "completed",
      },
      {
        id: "fc_d1_3",
        type: "function_call",
        call_id: "c1",
        name: "g",
        arguments: "{}",
        status: "completed",
      },
    ]);
    const done = events.filter((e) => e.type === "response.output_item.done").map((e) => e.output_index);
    expect(done).toEqual([0, 1, 2, 3]);
    expect(events.map((e) => e.type)).toContain("response.reasoning_summary_text.done");
    expect(events.find((e) => e.type === "response.refusal.done")).toMatchObject({
      content_index: 1,
      refusal: "no",
    });
    expect(
      events.find((e) => e.type === "response.function_call_arguments.done" && e.output_index === 2),
    ).toMatchObject({
      name: "f",
      arguments: '{"a":1}',
    });
  });

  it("logprobs are left out unless asked; an incomplete finish marks the open item incomplete", () => {
    const b = new OutputBuilder("d2", false);
    b.add({ type: "delta", content: "cut", logprobs: [lp("cut")] });
    b.finish("incomplete");
    expect(b.output[0]).toMatchObject({ status: "incomplete", content: [{ text: "cut", logprobs: [] }] });
  });

  it("a tool call that resumes after other output fails instead of mangling its arguments", () => {
    const b = new OutputBuilder("d3", false);
    b.add({ type: "delta", toolCalls: [{ index: 0, id: "c0", name: "f", arguments: "{" }] });
    b.add({ type: "delta", content: "text" });
    expect(() => b.add({ type: "delta", toolCalls: [{ index: 0, arguments: "}" }] })).toThrow(/resumed/);
  });
});
