import { Writable } from "node:stream";
import { describe, expect, it } from "vitest";
import { createLogger } from "../telemetry/index.js";
import { logEmbeddedMaintenance, STALL_WARN_MS } from "./embedded-maintenance-log.js";

function capture() {
  const lines: Record<string, unknown>[] = [];
  const out = new Writable({
    write(chunk, _enc, cb) {
      lines.push(JSON.parse(String(chunk)) as Record<string, unknown>);
      cb();
    },
  });
  return { logger: createLogger("info", out, "json"), lines };
}

describe("the embedded database's maintenance in the log", () => {
  it("one line per table: info, or a warning naming the stall once it held the database a second", () => {
    const { logger, lines } = capture();
    logEmbeddedMaintenance(logger, {
      kind: "vacuumed",
      done: [
        { table: "public.audit_decisions", vacuum: true, analyze: true, wraparound: false, ms: 12.4 },
        {
          table: "public.audit_log",
          vacuum: true,
          analyze: false,
          wraparound: true,
          ms: STALL_WARN_MS + 200,
        },
        { table: "public.budgets", vacuum: false, analyze: true, wraparound: false, ms: 1 },
      ],
    });
    expect(lines.map((l) => [l.level, l.msg, l.table, l.ms, l.wraparound])).toEqual([
      [30, "embedded database vacuum and analyze", "public.audit_decisions", 12, undefined],
      [40, "embedded database vacuum held the database for 1200 ms", "public.audit_log", 1200, true],
      [30, "embedded database analyze", "public.budgets", 1, undefined],
    ]);
  });

  it("a failed task as a warning with its code", () => {
    const { logger, lines } = capture();
    logEmbeddedMaintenance(logger, {
      kind: "failed",
      task: "vacuum",
      message: "could not read block",
      code: "XX001",
    });
    expect(lines[0]).toMatchObject({
      level: 40,
      msg: "embedded database vacuum failed",
      task: "vacuum",
      code: "XX001",
    });
  });
});
