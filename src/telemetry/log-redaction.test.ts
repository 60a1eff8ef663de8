import { Writable } from "node:stream";
import { describe, expect, it } from "vitest";
import { CENSOR, redactLogFields } from "./log-redaction.js";
import { createLogger } from "./logger.js";

function jsonLines(): { out: Writable; lines: () => Record<string, unknown>[] } {
  const raw: string[] = [];
  const out = new Writable({
    write(chunk, _enc, cb) {
      raw.push(String(chunk));
      cb();
    },
  });
  return { out, lines: () => raw.map((l) => JSON.parse(l) as Record<string, unknown>) };
}

describe("log redaction", () => {
  it("censors a redacted field at the top of a line and one level down, leaving the caller's objects as they were", () => {
    const req = { content: "the prompt", model: "m" };
    const fields = { api: "openai", prompt: "secret", apiKey: "sk-1", req, n: 3 };
    const out = redactLogFields(fields);
    expect(out).toEqual({
      api: "openai",
      prompt: CENSOR,
      apiKey: CENSOR,
      req: { content: CENSOR, model: "m" },
      n: 3,
    });
    expect(fields.prompt).toBe("secret");
    expect(req.content).toBe("the prompt");
  });

  it("returns a line without redacted fields as it came (no copy)", () => {
    const fields = {
      method: "POST",
      status: 200,
      latencyMs: 1.5,
      tenant: "t",
      nested: { id: "x" },
      list: [1],
    };
    expect(redactLogFields(fields)).toBe(fields);
    expect(redactLogFields(fields).nested).toBe(fields.nested);
  });

  it("through the logger: lines, a child's fields and an error's own fields; the error keeps its message", () => {
    const { out, lines } = jsonLines();
    const log = createLogger("info", out, "json");
    const err = Object.assign(new Error("upstream refused"), { authorization: "Bearer abc" });
    log.warn({ err, messages: [{ role: "user", content: "hi" }] }, "failed");
    log
      .child({ prompt: "bound secret", tenant: "acme" })
      .child({ n: 1 })
      .info({ outer: { apiKey: "k" } }, "child");
    const [a, b] = lines();
    expect(a).toMatchObject({ msg: "failed", messages: CENSOR });
    expect(a!.err).toMatchObject({ type: "Error", message: "upstream refused", authorization: CENSOR });
    expect((a!.err as { stack: string }).stack).toMatch(/^Error: upstream refused\n {4}at /);
    expect(JSON.stringify(a)).not.toContain("Bearer abc");
    expect(b).toMatchObject({ msg: "child", prompt: CENSOR, tenant: "acme", outer: { apiKey: CENSOR } });
    expect(JSON.stringify(b)).not.toContain("bound secret");
  });
});
