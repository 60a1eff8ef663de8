import { describe, expect, it } from "vitest";
import { DEFAULT_REQUEST_LIMITS } from "../../config/index.js";
import { InvalidFieldError } from "../grpc/index.js";
import { type ChatBodyContext, fromOpenAIChatBody } from "./chat-body.js";

/** The Chat Completions body parser's translations and limits (the refusals are in test/e2e). */
const parse = (extra: Record<string, unknown>, ctx: ChatBodyContext = {}) =>
  fromOpenAIChatBody({ model: "m/a", messages: [{ role: "user", content: "hi" }], ...extra }, ctx);

function refused(fn: () => unknown): { field: string; message: string } {
  try {
    fn();
  } catch (err) {
    if (err instanceof InvalidFieldError) return { field: err.field, message: err.message };
    throw err;
  }
  throw new Error("expected an InvalidFieldError");
}

const image = (url: string) => ({
  messages: [{ role: "user", content: [{ type: "image_url", image_url: { url } }] }],
});

describe("fromOpenAIChatBody", () => {
  it("names inherited object keys as fields, never takes them for known ones", () => {
    for (const role of ["__proto__", "toString", "constructor"]) {
      const body = { model: "m/a", messages: [{ role, content: "hi" }] };
      expect(refused(() => fromOpenAIChatBody(body, {})).field).toBe("messages[0].role");
    }
    for (const name of ["toString", "hasOwnProperty", "constructor"])
      expect(refused(() => parse(JSON.parse(`{"${name}": 1}`))).field).toBe(name);
  });

  it("defaults equivalent to leaving a field out are not parameters", () => {
    const { route } = parse({
      response_format: { type: "text" },
      logprobs: false,
      n: 1,
      modalities: ["text"],
    });
    expect(route.params).toBeUndefined();
  });

  it("translates OpenRouter's reasoning and max_completion_tokens", () => {
    expect(parse({ reasoning: { enabled: true } }).route.params).toEqual({ reasoning_effort: "medium" });
    expect(parse({ reasoning: { effort: "high", exclude: true } }).options.excludeReasoning).toBe(true);
    expect(refused(() => parse({ reasoning_effort: "low", reasoning: { effort: "high" } })).field).toBe(
      "reasoning.effort",
    );
    const { route } = parse({ max_completion_tokens: 64 });
    expect([route.maxTokens, route.params]).toEqual([64, { max_completion_tokens: 64 }]);
  });

  it("an unknown field passes through only when an endpoint of the requested models declares it", () => {
    const declares = (name: string, models: readonly string[]) =>
      name === "transforms" && models.includes("m/b");
    expect(refused(() => parse({ transforms: ["x"] }, { declares })).field).toBe("transforms");
    expect(parse({ transforms: ["x"], models: ["m/b"] }, { declares }).route.params).toEqual({
      transforms: ["x"],
    });
  });

  it("media parts: data URLs become bytes with their type; bare base64 files take the filename's type", () => {
    const { route } = parse({
      messages: [
        {
          role: "user",
          content: [
            { type: "image_url", image_url: { url: "data:image/webp;base64,UklGRg==", detail: "low" } },
            { type: "file", file: { file_data: "aGVsbG8=", filename: "notes.txt" } },
          ],
        },
      ],
    });
    expect(route.messages[0]!.content).toEqual([
      { type: "image", source: { kind: "base64", mediaType: "image/webp", data: "UklGRg==" }, detail: "low" },
      {
        type: "file",
        source: { kind: "base64", mediaType: "text/plain", data: "aGVsbG8=" },
        filename: "notes.txt",
      },
    ]);
  });

  it("per-part limits are configurable and the error names the part, never its data", () => {
    const limits = { ...DEFAULT_REQUEST_LIMITS, imageBytes: 8, audioBytes: 8, fileBytes: 8 };
    const big = "QUFBQUFBQUFBQUFB"; // 12 bytes
    const err = refused(() => parse(image(`data:image/png;base64,${big}`), { limits }));
    expect(err.field).toBe("messages[0].content[0].image_url.url");
    expect(err.message).toContain("at most 8 bytes");
    expect(err.message).not.toContain(big);
    expect(parse(image("data:image/png;base64,QUFBQQ=="), { limits }).route.messages).toHaveLength(1);
    const audio = {
      messages: [
        { role: "user", content: [{ type: "input_audio", input_audio: { data: big, format: "mp3" } }] },
      ],
    };
    expect(refused(() => parse(audio, { limits })).field).toBe("messages[0].content[0].input_audio.data");
    const file = { messages: [{ role: "user", content: [{ type: "file", file: { file_data: big } }] }] };
    expect(refused(() => parse(file, { limits })).field).toBe("messages[0].content[0].file.file_data");
    expect(refused(() => parse(image("data:image/png;base64,not base64!"))).field).toBe(
      "messages[0].content[0].image_url.url",
    );
  });
});
