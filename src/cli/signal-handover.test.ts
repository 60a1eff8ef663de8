import { execFile } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

describe("handing a signal over from the start-up handler to the running one", () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "sovr-signal-handover-"));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("keeps a signal that arrived but was not yet handled: the new handler gets it", async () => {
    // A process sends itself SIGTERM (it waits in Node's signal pipe for the next turn of the
    // event loop) and, in the same turn, hands over from its first handler to its second.
    const module = fileURLToPath(new URL("./signal-handover.ts", import.meta.url));
    const probe = join(dir, "probe.mjs");
    await writeFile(
      probe,
      `const { handOverSignals } = await import(${JSON.stringify(module)});
      const got = [];
      const early = () => got.push("early");
      const running = () => got.push("running");
      process.on("SIGTERM", early);
      process.kill(process.pid, "SIGTERM");
      handOverSignals(["SIGTERM"], early, running);
      setTimeout(() => { console.log(JSON.stringify(got)); process.exit(0); }, 300);`,
    );
    const { stdout } = await promisify(execFile)(process.execPath, ["--import", "tsx", probe], {
      timeout: 30_000,
    });
    expect(JSON.parse(stdout.trim().split("\n").at(-1)!)).toEqual(["running"]);
  });
});
