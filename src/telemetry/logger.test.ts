import { spawn } from "node:child_process";
import { once } from "node:events";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { fileURLToPath } from "node:url";
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

  it("to stdout (no destination given): a line arrives while the process runs, and every line is written by its exit", async () => {
    // The default destination gathers lines and writes them together (logger.ts, stdoutLines).
    // A child process logs one line and waits for its stdin to close: were lines held until
    // exit, the first would never arrive and this test would time out. Then it logs 5,000 lines
    // and exits at once, with lines still gathered: all of them must be on its stdout, whole.
    const module = fileURLToPath(new URL("./logger.ts", import.meta.url));
    const script = `const { createLogger } = await import(${JSON.stringify(module)});
      const log = createLogger("info", undefined, "json");
      log.info({ n: -1 }, "first");
      process.stdin.resume();
      process.stdin.on("end", () => {
        for (let n = 0; n < 5000; n++) log.info({ n }, "line");
        process.exit(0);
      });`;
    const dir = await mkdtemp(join(tmpdir(), "sovr-logger-"));
    try {
      await writeFile(join(dir, "probe.mjs"), script);
      const child = spawn(process.execPath, ["--import", "tsx", join(dir, "probe.mjs")], {
        stdio: ["pipe", "pipe", "inherit"],
      });
      let out = "";
      child.stdout.setEncoding("utf8");
      const first = new Promise<void>((resolve) => {
        child.stdout.on("data", (chunk: string) => {
          out += chunk;
          if (out.includes("\n")) resolve();
        });
      });
      const closed = once(child, "close");
      // The first line, or the child's end (it failed): whichever comes first.
      await Promise.race([first, closed]);
      expect(JSON.parse(out.split("\n")[0]!)).toMatchObject({ msg: "first", n: -1 });
      child.stdin.end();
      const [code] = (await closed) as [number];
      expect(code).toBe(0);
      const lines = out
        .trimEnd()
        .split("\n")
        .map((l) => JSON.parse(l) as { n: number; msg: string });
      expect(lines).toHaveLength(5001);
      expect(lines.map((l) => l.n)).toEqual([-1, ...Array.from({ length: 5000 }, (_, n) => n)]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }, 60_000);
});
