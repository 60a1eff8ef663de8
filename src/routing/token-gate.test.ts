import { describe, expect, it } from "vitest";
import { estimateTokens } from "./token-gate.js";

describe("estimateTokens", () => {
  it("input as characters / 4 plus 4 per message and 256 per media part, plus max_tokens or the default", () => {
    const messages = [
      { role: "system", content: "x".repeat(40) },
      {
        role: "user",
        content: [
          { type: "text" as const, text: "y".repeat(38) },
          { type: "image" as const, source: { kind: "url" as const, url: "https://example.com/a.png" } },
        ],
      },
    ];
    expect(estimateTokens({ model: "m", messages, maxTokens: 100 } as never, 1024)).toBe(20 + 8 + 256 + 100);
    expect(estimateTokens({ model: "m", messages } as never, 1024)).toBe(20 + 8 + 256 + 1024);
    expect(estimateTokens({ model: "m", messages, operation: "embedding" } as never, 1024)).toBe(
      20 + 8 + 256,
    );
  });
});
