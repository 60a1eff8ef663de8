import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { startHeldBundleServer } from "../support/held-bundle.js";
import { spawnServe } from "../support/serve-process.js";

/**
 * SIGTERM while `sovr serve` is still starting (a pod deleted while it starts): the process
 * finishes starting, then drains and exits 0 — instead of dying on Node's default action, or,
 * as PID 1 in a container (where a signal without a handler is ignored), waiting for SIGKILL.
 * Start-up is held at a known point: the policy bundle server answers only after the signal.
 */
describe("sovr serve signalled during start-up", () => {
  const cleanup: (() => unknown)[] = [];
  afterAll(async () => {
    for (const c of cleanup.reverse()) await Promise.resolve(c()).catch(() => {});
  });

  it("stops as soon as it has started, exit 0", async () => {
    const bundles = await startHeldBundleServer();
    cleanup.push(() => bundles.close());
    const dir = await mkdtemp(join(tmpdir(), "sovr-signal-start-"));
    cleanup.push(() => rm(dir, { recursive: true, force: true }));

    const s = spawnServe({
      SOVR_DATA_DIR: dir,
      SOVR_SIMULATOR: "off",
      SOVR_POLICY_BUNDLE_URL: bundles.url,
    });
    cleanup.push(() => s.proc.kill("SIGKILL"));
    await bundles.requested; // start-up is waiting for the bundle server
    s.proc.kill("SIGTERM");
    bundles.release();
    const code = await s.exited;
    expect({ code, signal: s.proc.signalCode }).toEqual({ code: 0, signal: null });
    const messages = s
      .out()
      .split("\n")
      .filter((l) => l.startsWith("{"))
      .map((l) => (JSON.parse(l) as { msg: string }).msg);
    expect(messages.indexOf("draining")).toBeGreaterThan(messages.indexOf("sovr serving"));
    expect(messages).toContain("stopped");
  }, 60_000);
});
