import { describe, expect, it } from "vitest";
import type { UpstreamEvent } from "../upstream/index.js";
import { RedactionTable } from "./redact.js";
import { TextRestorer, unredactEvents } from "./unredact-stream.js";

function table(): RedactionTable {
  const t = new RedactionTable();
  t.placeholder("email", "ann@example.com");
  t.placeholder("email", 'q"uote@example.com');
  t.placeholder("iban", "DE89 3704 0044 0532 0130 00");
  return t;
}

async function collect(events: UpstreamEvent[]): Promise<UpstreamEvent[]> {
  async function* gen() {
    yield* events;
  }
  const out: UpstreamEvent[] = [];
  for await (const e of unredactEvents(gen(), table())) out.push(e);
  return out;
}

const text = (events: UpstreamEvent[], key: "content" | "reasoning" = "content") =>
  events.map((e) => (e.type === "delta" ? (e[key] ?? "") : "")).join("");

describe("TextRestorer", () => {
  it("restores a placeholder split at every possible point", () => {
    const whole = "Mail [EMAIL_1] and [IBAN_1].";
    for (let i = 0; i <= whole.length; i++)
      for (let j = i; j <= whole.length; j++) {
        const r = new TextRestorer(table());
        const out =
          r.push(whole.slice(0, i)) + r.push(whole.slice(i, j)) + r.push(whole.slice(j)) + r.flush();
        expect(out, `split at ${i}, ${j}`).toBe("Mail ann@example.com and DE89 3704 0044 0532 0130 00.");
      }
  });

  it("holds only what could still be a placeholder; unknown ones and brackets pass", () => {
    const r = new TextRestorer(table());
    expect(r.push("see [1] and [EMAIL_9] then [EMA")).toBe("see [1] and [EMAIL_9] then ");
    expect(r.push("X")).toBe("[EMAX");
    expect(r.push(" [")).toBe(" ");
    expect(r.flush()).toBe("[");
  });
});

describe("unredactEvents", () => {
  it("content split over deltas, the held tail given out before the finish", async () => {
    const out = await collect([
      { type: "delta", role: "assistant", content: "Hi [EM" },
      { type: "delta", content: "AIL_" },
      { type: "delta", content: "1], [IBAN" },
      { type: "finish", finishReason: "stop" },
    ]);
    expect(text(out)).toBe("Hi ann@example.com, [IBAN");
    expect(out.at(-1)).toEqual({ type: "finish", finishReason: "stop" });
    expect(out.some((e) => e.type === "delta" && e.content === "")).toBe(false);
  });

  it("tool-call arguments: split placeholders restored JSON-escaped, per call", async () => {
    const out = await collect([
      { type: "delta", toolCalls: [{ index: 0, id: "c1", name: "send", arguments: '{"to":"[EMAIL' }] },
      { type: "delta", toolCalls: [{ index: 0, arguments: '_2]","cc":"[EMAIL_1]"}' }] },
      { type: "delta", toolCalls: [{ index: 1, id: "c2", name: "pay", arguments: '{"iban":"[IBAN_1]"}' }] },
      { type: "finish", finishReason: "tool_calls" },
    ]);
    const args = new Map<number, string>();
    for (const e of out)
      if (e.type === "delta")
        for (const c of e.toolCalls ?? []) args.set(c.index, (args.get(c.index) ?? "") + (c.arguments ?? ""));
    expect(JSON.parse(args.get(0)!)).toEqual({ to: 'q"uote@example.com', cc: "ann@example.com" });
    expect(JSON.parse(args.get(1)!)).toEqual({ iban: "DE89 3704 0044 0532 0130 00" });
  });

  it("each choice and each channel is its own stream; a stream without finish is flushed", async () => {
    const out = await collect([
      { type: "delta", index: 0, content: "[EMAIL_" },
      { type: "delta", index: 1, content: "[IBAN_" },
      { type: "delta", index: 0, reasoning: "[EMA" },
      { type: "delta", index: 1, content: "1]" },
      { type: "delta", index: 0, content: "1]" },
      { type: "delta", index: 0, reasoning: "IL_1]" },
    ]);
    const of = (i: number) => out.filter((e) => e.type === "delta" && (e.index ?? 0) === i);
    expect(text(of(0))).toBe("ann@example.com");
    expect(text(of(0), "reasoning")).toBe("ann@example.com");
    expect(text(of(1))).toBe("DE89 3704 0044 0532 0130 00");
  });
});
