import { describe, expect, it } from "vitest";
import { HIGH_WATER_MARK, UpstreamBody } from "./upstream-body.js";

const bytes = (s: string) => new TextEncoder().encode(s);
const text = (chunks: Uint8Array[]) => chunks.map((c) => new TextDecoder().decode(c)).join("");

function body() {
  const aborted: Error[] = [];
  const b = new UpstreamBody((reason) => aborted.push(reason));
  let resumed = 0;
  b.resume = () => resumed++;
  return { b, aborted, resumed: () => resumed };
}

describe("UpstreamBody", () => {
  it("yields the chunks in order, queued or awaited, then ends", async () => {
    const { b } = body();
    b.push(bytes("a"));
    b.push(bytes("b"));
    const got: Uint8Array[] = [];
    const reading = (async () => {
      for await (const c of b) got.push(c);
    })();
    await new Promise((r) => setImmediate(r));
    b.push(bytes("c"));
    b.end();
    await reading;
    expect(text(got)).toBe("abc");
    expect(b.readableEnded).toBe(true);
    expect(await b.next()).toEqual({ value: undefined, done: true });
  });

  it("pauses its source past the high-water mark and resumes it once read below", async () => {
    const { b, resumed } = body();
    const half = new Uint8Array(HIGH_WATER_MARK / 2);
    expect(b.push(half)).toBe(true);
    expect(b.push(half)).toBe(false);
    // Paused: further pushes (a chunk already in flight) are still kept, and still say pause.
    expect(b.push(bytes("x"))).toBe(false);
    expect(resumed()).toBe(0);
    await b.next();
    expect(resumed()).toBe(1);
    await b.next();
    await b.next();
    expect(resumed()).toBe(1);
    b.end();
    expect(b.readableEnded).toBe(true);
  });

  it("fails with the reason: queued chunks are dropped, a waiting and every later read throw it", async () => {
    const { b, aborted } = body();
    const waiting = b.next();
    const reason = new Error("idle timeout");
    b.fail(reason);
    await expect(waiting).rejects.toBe(reason);
    await expect(b.next()).rejects.toBe(reason);
    expect(b.destroyed).toBe(true);
    expect(aborted).toEqual([]);

    // Complete but not yet read: failing still drops it (the caller went away meanwhile).
    const c = body();
    c.b.push(bytes("whole answer"));
    c.b.end();
    c.b.fail(reason);
    await expect(c.b.next()).rejects.toBe(reason);
  });

  it("leaves the body as it is when a for-await is left early", async () => {
    const { b, aborted } = body();
    b.push(bytes("1"));
    b.push(bytes("2"));
    for await (const _ of b) break;
    expect(b.destroyed).toBe(false);
    expect(aborted).toEqual([]);
    expect(text([(await b.next()).value as Uint8Array])).toBe("2");
  });

  it("destroy stops a request still arriving, not one that completed", async () => {
    const one = body();
    one.b.push(bytes("part"));
    one.b.destroy();
    expect(one.aborted).toHaveLength(1);
    await expect(one.b.next()).rejects.toThrow(/destroyed by its reader/);
    one.b.destroy();
    expect(one.aborted).toHaveLength(1);

    const two = body();
    two.b.end();
    two.b.destroy();
    expect(two.aborted).toEqual([]);
    expect(two.b.destroyed).toBe(true);
  });

  it("discards the rest of an answer: told once at its end, resumed if paused, destroyed past the limit", () => {
    const a = body();
    const ends: string[] = [];
    a.b.push(new Uint8Array(HIGH_WATER_MARK));
    a.b.discard(HIGH_WATER_MARK + 10, () => ends.push("a"));
    expect(a.resumed()).toBe(1);
    expect(a.b.push(bytes("12345"))).toBe(true);
    a.b.end();
    a.b.destroy();
    expect(ends).toEqual(["a"]);
    expect(a.aborted).toEqual([]);

    const b = body();
    b.b.discard(8, () => ends.push("b"));
    b.b.push(bytes("12345"));
    expect(ends).toEqual(["a"]);
    b.b.push(bytes("6789"));
    expect(ends).toEqual(["a", "b"]);
    expect(b.aborted).toHaveLength(1);

    const c = body();
    c.b.end();
    c.b.discard(8, () => ends.push("c"));
    expect(ends).toEqual(["a", "b", "c"]);

    const d = body();
    d.b.discard(8, () => ends.push("d"));
    d.b.fail(new Error("reset"));
    expect(ends).toEqual(["a", "b", "c", "d"]);
  });
});
