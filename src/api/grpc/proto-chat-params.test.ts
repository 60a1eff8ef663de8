import { create } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import {
  ChatRequestSchema,
  PromptCacheRetention,
  ReasoningSummary,
  ResponseFormatType,
} from "../../gen/sovereign/v1/router_pb.js";
import { protoContent, protoFieldPath, protoParams } from "./proto-chat-params.js";

describe("proto chat parameters", () => {
  const m = create(ChatRequestSchema, {
    messages: [
      { role: "user", content: "plain" },
      {
        role: "user",
        parts: [
          { part: { case: "text", value: "see" } },
          { part: { case: "image", value: { source: { case: "url", value: "https://x.example/a.png" } } } },
          {
            part: { case: "file", value: { data: new Uint8Array([1, 2, 3]), mediaType: "application/pdf" } },
          },
        ],
      },
    ],
    maxTokens: 10,
    responseFormat: { type: ResponseFormatType.JSON_OBJECT },
    reasoningSummary: ReasoningSummary.CONCISE,
    promptCacheRetention: PromptCacheRetention.HOURS_24,
  });

  it("parts become content parts, bytes as base64", () => {
    expect(protoContent(m.messages[0]!, "messages[0]")).toBe("plain");
    expect(protoContent(m.messages[1]!, "messages[1]")).toEqual([
      { type: "text", text: "see" },
      { type: "image", source: { kind: "url", url: "https://x.example/a.png" } },
      { type: "file", source: { kind: "base64", mediaType: "application/pdf", data: "AQID" } },
    ]);
  });

  it("parameters take their OpenAI names and values; unset ones are absent", () => {
    expect(protoParams(m)).toEqual({
      response_format: { type: "json_object" },
      reasoning_summary: "concise",
      prompt_cache_retention: "24h",
    });
    expect(protoParams(create(ChatRequestSchema, {}))).toBeUndefined();
  });

  it("validator paths are renamed to the proto's fields", () => {
    expect(protoFieldPath("messages[1].content[1]", m)).toBe("messages[1].parts[1]");
    expect(protoFieldPath("messages[1].content", m)).toBe("messages[1].parts");
    expect(protoFieldPath("messages[0].content", m)).toBe("messages[0].content");
    expect(protoFieldPath("tools[2].function.parameters", m)).toBe("tools[2].parameters_json");
    expect(protoFieldPath("messages[0].tool_calls[1].function.arguments", m)).toBe(
      "messages[0].tool_calls[1].function_arguments",
    );
    expect(protoFieldPath("response_format.json_schema.schema", m)).toBe("response_format.schema_json");
    expect(protoFieldPath("response_format.json_schema.name", m)).toBe("response_format.name");
    expect(protoFieldPath("response_format.json_schema", m)).toBe("response_format");
    expect(protoFieldPath("prediction.content", m)).toBe("prediction");
    expect(protoFieldPath("max_completion_tokens", m)).toBe("max_tokens");
    expect(protoFieldPath("presence_penalty", m)).toBe("presence_penalty");
  });
});
