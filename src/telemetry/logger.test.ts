import { Writable } from "node:stream";
import { describe, expect, it } from "vitest";
import { createLogger } from "./logger.js";
import { prettyLine } from "./pretty-log.js";

function sink(isTTY: boolean): { out: Writable & { isTTY?: boolean }; lines: string[] } {
  const lines: string[] = [];
  const out = new Writable({
    write(chunk, _enc, cb) {
      lines.push(String(chunk));
      cb();
    },
  }) as Writable & { isTTY?: boolean };
  out.isTTY = isTTY;
  return { out, lines };
}

describe("logs", () => {
  it("JSON lines with ISO-8601 times off a terminal (auto) and with json", () => {
    for (const format of ["auto", "json"] as const) {
      const { out, lines } = sink(false);
      createLogger("info", out, format).info({ decisionId: "d-1" }, "request");
      const line = JSON.parse(lines[0]!) as Record<string, unknown>;
      expect(line).toMatchObject({ level: 30, msg: "request", decisionId: "d-1", service: "sovr" });
      expect(line.time).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    }
  });

  it("pretty lines on a terminal (auto, coloured) and with pretty; the redaction still applies", () => {
    const tty = sink(true);
    createLogger("info", tty.out, "auto").info({ api: "openai", status: 200 }, "request");
    expect(tty.lines[0]).toContain("\x1b[");
    const plain = sink(false);
    createLogger("info", plain.out, "pretty").warn(
      { api: "openai", reason: "two words", content: "secret prompt" },
      "refused",
    );
    expect(plain.lines[0]).toMatch(
      /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z WARN {2}refused api=openai reason="two words" content=\[redacted\]\n$/,
    );
  });

  it("prettyLine leaves a line that is not JSON as it is", () => {
    expect(prettyLine("not json", false)).toBe("not json");
  });
});
