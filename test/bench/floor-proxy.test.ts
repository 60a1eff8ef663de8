import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { floorProxy } from "../../bench/lib/floor-proxy.js";
import { startSimulator } from "../../src/simulator/simulator.js";

/** The bench's floor target forwards bodies both ways untouched, streams included, and says 502 when the upstream is gone. */
describe("bench floor proxy", () => {
  let sim: Awaited<ReturnType<typeof startSimulator>>;
  let proxy: ReturnType<typeof floorProxy>;
  let url: string;

  beforeAll(async () => {
    sim = await startSimulator({ port: 0 });
    proxy = floorProxy(sim.url);
    await new Promise<void>((r) => proxy.server.listen(0, "127.0.0.1", () => r()));
    url = `http://127.0.0.1:${(proxy.server.address() as { port: number }).port}`;
  });
  afterAll(async () => {
    await proxy.close();
    await sim.close();
  });

  const chat = (stream: boolean) =>
    fetch(`${url}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ model: "sim/chat-small", messages: [{ role: "user", content: "hi" }], stream }),
    });

  it("passes a completion through", async () => {
    const r = await chat(false);
    expect(r.status).toBe(200);
    const j = (await r.json()) as { choices: { message: { content: string } }[] };
    expect(j.choices[0]!.message.content.length).toBeGreaterThan(0);
  });

  it("passes a stream through to its [DONE]", async () => {
    const r = await chat(true);
    expect(r.status).toBe(200);
    expect(r.headers.get("content-type")).toContain("text/event-stream");
    const text = await r.text();
    expect(text.match(/^data: /gm)!.length).toBeGreaterThan(2);
    expect(text.trimEnd().endsWith("data: [DONE]")).toBe(true);
  });

  it("answers 502 when the upstream cannot be reached", async () => {
    const dead = floorProxy("http://127.0.0.1:9");
    await new Promise<void>((r) => dead.server.listen(0, "127.0.0.1", () => r()));
    const port = (dead.server.address() as { port: number }).port;
    const r = await fetch(`http://127.0.0.1:${port}/v1/models`);
    expect(r.status).toBe(502);
    await r.text();
    await dead.close();
  });
});
