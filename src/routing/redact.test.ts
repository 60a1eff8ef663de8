import { describe, expect, it } from "vitest";
import { testDetector } from "../../test/support/test-detector.js";
import { labelsFromRecord, labelsToRecord, scanContent } from "./content-labels.js";
import { RedactionTable, redactRequest } from "./redact.js";
import type { RouteRequest } from "./types.js";

const IBAN = "DE89 3704 0044 0532 0130 00";
const base = (over: Partial<RouteRequest> = {}): RouteRequest => ({
  model: "m",
  models: [],
  messages: [],
  provider: { allowFallbacks: true },
  region: null,
  labels: {},
  workload: "",
  ...over,
});

/** Every text the walk reaches, with an e-mail address in each. */
const everywhere = base({
  messages: [
    { role: "system", content: "Write to ann@example.com." },
    {
      role: "user",
      name: "ann@example.com",
      content: [
        { type: "text", text: `Pay ${IBAN} for bob@example.org` },
        { type: "image", source: { kind: "url", url: "https://x.invalid/a.png" } },
        {
          type: "file",
          filename: "note.txt",
          source: {
            kind: "base64",
            mediaType: "text/plain",
            data: Buffer.from("cc: ann@example.com").toString("base64"),
          },
        },
      ],
    },
    {
      role: "assistant",
      content: "",
      tool_calls: [
        {
          id: "c1",
          type: "function",
          function: { name: "send", arguments: '{"to":"ann@example.com","n":1}' },
        },
      ],
    },
    { role: "tool", tool_call_id: "c1", content: "sent to ann@example.com" },
  ],
  tools: [{ type: "function", function: { name: "send", description: "Sends as ops@example.com" } }],
  stop: ["dan@example.com"],
  params: { user: "eve@example.com", prediction: { type: "content", content: "ann@example.com" } },
});

describe("content labels", () => {
  it("counts every text the request would send, files of text decoded, never the text", async () => {
    const labels = await scanContent(everywhere, testDetector);
    expect(labels).toEqual({ version: "test-detect/1", counts: { email: 10, iban: 1 }, unscannable: 0 });
    const record = labelsToRecord(labels);
    expect(record).toEqual({ detector: "test-detect/1", email: "10", iban: "1" });
    expect(JSON.stringify(record)).not.toContain("example");
    expect(labelsFromRecord(record)).toEqual(labels);
  });

  it("a malformed PDF cannot be scanned; a detector that throws counts its text as unscannable", async () => {
    const pdf = base({
      messages: [
        {
          role: "user",
          content: [
            { type: "file", source: { kind: "base64", mediaType: "application/pdf", data: "JVBERi0=" } },
          ],
        },
      ],
    });
    expect((await scanContent(pdf, testDetector)).unscannable).toBe(1);
    const failing = {
      version: "broken/1",
      findSpans: () => {
        throw new Error("boom ann@example.com");
      },
    };
    const labels = await scanContent(base({ messages: [{ role: "user", content: "hi" }] }), failing);
    expect(labels).toEqual({ version: "broken/1", counts: {}, unscannable: 1 });
    expect(labelsToRecord(labels)).toEqual({ detector: "broken/1", unscannable: "1" });
  });

  it("no detector: the record's labels are empty and replay reads none", () => {
    expect(labelsToRecord(undefined)).toEqual({});
    expect(labelsFromRecord({})).toBeUndefined();
  });
});

describe("redactRequest", () => {
  it("masks the named categories everywhere, one placeholder per value, the rest untouched", () => {
    const table = new RedactionTable();
    const out = redactRequest(everywhere, testDetector, ["email"], table);
    const sent = JSON.stringify(out);
    expect(sent).not.toMatch(/@example\./);
    expect(sent).toContain(IBAN);
    expect(out.messages[0]!.content).toBe("Write to [EMAIL_1].");
    expect(out.messages[1]!.name).toBe("[EMAIL_1]");
    const parts = out.messages[1]!.content as { type: string; text?: string; source?: { data: string } }[];
    expect(parts[0]!.text).toBe(`Pay ${IBAN} for [EMAIL_2]`);
    expect(Buffer.from(parts[2]!.source!.data, "base64").toString()).toBe("cc: [EMAIL_1]");
    expect(JSON.parse(out.messages[2]!.tool_calls![0]!.function.arguments)).toEqual({
      to: "[EMAIL_1]",
      n: 1,
    });
    expect(out.tools![0]!.function.description).toBe("Sends as [EMAIL_3]");
    expect(out.params).toEqual({ user: "[EMAIL_5]", prediction: { type: "content", content: "[EMAIL_1]" } });
    expect(table.original("[EMAIL_2]")).toBe("bob@example.org");
    // The caller's request is not changed.
    expect(everywhere.messages[0]!.content).toBe("Write to ann@example.com.");
    // A second attempt with the same table gets the same placeholders.
    expect(JSON.stringify(redactRequest(everywhere, testDetector, ["email"], table))).toBe(sent);
  });

  it("masks several categories, each numbered on its own", () => {
    const table = new RedactionTable();
    const out = redactRequest(
      base({ messages: [{ role: "user", content: `${IBAN} / ann@example.com / ${IBAN}` }] }),
      testDetector,
      ["email", "iban"],
      table,
    );
    expect(out.messages[0]!.content).toBe("[IBAN_1] / [EMAIL_1] / [IBAN_1]");
  });
});
