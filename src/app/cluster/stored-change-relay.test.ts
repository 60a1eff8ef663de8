import { PassThrough } from "node:stream";
import { describe, expect, it } from "vitest";
import { createLogger, Metrics } from "../../telemetry/index.js";
import { storedChangeRelay } from "./stored-change-relay.js";
import { type Channel, WorkerLink } from "./worker-link.js";

/** A worker's channel to a primary that answers every broadcast with `errors` (the workers that failed). */
function primaryAnswering(errors: string[]): Channel & { sent: unknown[] } {
  let listener: ((m: unknown) => void) | undefined;
  const sent: unknown[] = [];
  return {
    sent,
    send(message) {
      sent.push(message);
      const m = message as { sovr: string; id: number };
      if (m.sovr === "broadcast") setImmediate(() => listener?.({ sovr: "broadcasted", id: m.id, errors }));
      return true;
    },
    on(_event, l) {
      listener = l;
    },
    off() {
      listener = undefined;
    },
  };
}

function setUp(errors: string[]) {
  const channel = primaryAnswering(errors);
  const lines: string[] = [];
  const out = new PassThrough();
  out.on("data", (b: Buffer) => lines.push(b.toString()));
  const metrics = new Metrics();
  const relay = storedChangeRelay(new WorkerLink(channel), metrics, createLogger("info", out));
  const failures = async (topic: string) =>
    (await metrics.relayFailures.get()).values.find((v) => v.labels.topic === topic)?.value ?? 0;
  return { channel, lines, relay, failures };
}

describe("storedChangeRelay", () => {
  it("resolves once every worker has read the change, counting nothing", async () => {
    const { channel, relay, failures, lines } = setUp([]);
    await expect(relay("keys", null)).resolves.toBeUndefined();
    expect(channel.sent).toEqual([{ sovr: "broadcast", id: 0, topic: "keys", payload: null }]);
    expect(await failures("keys")).toBe(0);
    expect(lines).toEqual([]);
  });

  it("resolves when a worker could not read it (the change is stored), and counts and logs the miss", async () => {
    const { relay, failures, lines } = setUp(["worker 2: connection refused"]);
    await expect(relay("byok", "acme")).resolves.toBeUndefined();
    await expect(relay("budgets", null)).resolves.toBeUndefined();
    expect(await failures("byok")).toBe(1);
    expect(await failures("budgets")).toBe(1);
    expect(await failures("keys")).toBe(0);
    await new Promise((r) => setImmediate(r));
    const logged = lines.map(
      (l) => JSON.parse(l) as { level: number; topic: string; err: string; msg: string },
    );
    expect(logged.map((l) => [l.topic, l.level])).toEqual([
      ["byok", 40],
      ["budgets", 40],
    ]);
    expect(logged[0]!.err).toContain("worker 2: connection refused");
    // The tenant the change was for is not in the line (it went to the workers only).
    expect(lines.join("")).not.toContain("acme");
  });

  it("resolves when the primary is gone", async () => {
    const channel = primaryAnswering([]);
    channel.send = () => false;
    const metrics = new Metrics();
    const relay = storedChangeRelay(new WorkerLink(channel), metrics, createLogger("silent"));
    await expect(relay("keys", null)).resolves.toBeUndefined();
    expect((await metrics.relayFailures.get()).values[0]?.value).toBe(1);
  });
});
