import { pathToFileURL } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { TEST_MODEL_SHA256, testModelPath } from "../../test/support/local-model.js";
import { UpstreamError } from "./errors.js";
import { LocalAdapter } from "./local-adapter.js";
import type { UpstreamCallOptions, UpstreamEvent } from "./types.js";

/** The in-process adapter on the real test model (one thread, one slot, short generations). */
describe("LocalAdapter", () => {
  const adapter = new LocalAdapter({ threads: 1, slots: 1, queueMs: 0, contextSize: 1024 });
  const target = { baseUrl: pathToFileURL(testModelPath()).href };
  const opts: UpstreamCallOptions = {
    connectTimeoutMs: 1000,
    firstTokenTimeoutMs: 1000,
    idleTimeoutMs: 1000,
  };
  const req = {
    model: TEST_MODEL_SHA256,
    messages: [{ role: "user", content: "Say hello." }],
    max_tokens: 4,
  };
  afterAll(() => adapter.close());

  it("with every slot busy, a second stream is refused local_saturated (and the slot comes back)", async () => {
    const first = adapter.stream(target, req, opts)[Symbol.asyncIterator]();
    const head = await first.next(); // holds the only slot
    expect(head.value).toMatchObject({ type: "delta" });
    const refused = await adapter
      .stream(target, req, opts)
      [Symbol.asyncIterator]()
      .next()
      .catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(UpstreamError);
    expect((refused as UpstreamError).errorClass).toBe("local_saturated");
    expect((refused as UpstreamError).retryable).toBe(true);
    const rest: UpstreamEvent[] = [];
    for (let r = await first.next(); !r.done; r = await first.next()) rest.push(r.value);
    expect(rest.at(-1)).toMatchObject({
      type: "finish",
      finishReason: "length",
      usage: { completionTokens: 4 },
    });
    // Released: the next stream gets the slot.
    const again: UpstreamEvent[] = [];
    for await (const e of adapter.stream(target, req, opts)) again.push(e);
    expect(again.at(-1)).toMatchObject({ type: "finish" });
  });

  it("loads a model ahead (warm), checking its sha256 as a request would", async () => {
    await expect(adapter.warm(target.baseUrl, TEST_MODEL_SHA256)).resolves.toBeUndefined();
    await expect(adapter.warm(target.baseUrl, "1".repeat(64))).rejects.toThrow(/sha256/);
  });

  it("refuses a model file whose sha256 differs from the endpoint's", async () => {
    const wrong = { ...req, model: "0".repeat(64) };
    const err = await adapter
      .stream(target, wrong, opts)
      [Symbol.asyncIterator]()
      .next()
      .catch((e: unknown) => e);
    expect((err as UpstreamError).errorClass).toBe("connect");
    expect((err as Error).message).toContain("sha256");
  });
});
