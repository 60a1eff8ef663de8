import OpenAI from "openai";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { TestApp } from "../support/app.js";
import { outcomeOf, startRoutingApp } from "../support/routing-app.js";

/**
 * The OpenAI-compatible HTTP API (DESIGN §7) with the official `openai` SDK: only `baseURL` and
 * `apiKey` differ from calling OpenAI. OpenRouter's extensions (`provider`, `models`, `region`)
 * travel as extra body fields.
 */
describe("OpenAI-compatible HTTP API", () => {
  let t: TestApp;
  let openai: OpenAI;

  beforeAll(async () => {
    t = await startRoutingApp();
    openai = new OpenAI({ baseURL: `${t.app.httpUrl}/v1`, apiKey: "sk-unused-auth-off", maxRetries: 0 });
  });
  afterAll(async () => t?.close());
  beforeEach(() => t.simulator.resetBehaviour());

  const messages = [
    { role: "system" as const, content: "Be brief." },
    { role: "user" as const, content: "Say something." },
  ];
  // OpenRouter's fields are not in the SDK's types; they are sent as they are.
  const extra = (o: Record<string, unknown>) => o as object;

  it("non-streaming: a completion with usage and the decision id header", async () => {
    const { data, response } = await openai.chat.completions
      .create({ model: "sim/chat-small", messages, ...extra({ provider: { only: ["sim-eu"] } }) })
      .withResponse();
    expect(data.object).toBe("chat.completion");
    expect(data.choices[0]!.message.content).toBe(
      "the quick brown fox jumps over a lazy dog while the router keeps every record the",
    );
    expect(data.choices[0]!.finish_reason).toBe("stop");
    expect(data.usage).toMatchObject({ completion_tokens: 16, total_tokens: data.usage!.prompt_tokens + 16 });
    const id = response.headers.get("x-sovr-decision-id")!;
    expect(id).toMatch(/^[0-9a-f-]{36}$/);
    expect(response.headers.get("x-sovr-endpoint")).toBe("sim-eu/chat-small");
    expect(await outcomeOf(t, id)).toMatchObject({ outcome: "success", endpoint_used: "sim-eu/chat-small" });
  });

  it("streaming: deltas, finish reason, usage chunk, [DONE]", async () => {
    const stream = await openai.chat.completions.create({
      model: "sim/chat-small",
      messages,
      stream: true,
      stream_options: { include_usage: true },
      ...extra({ provider: { order: ["sim-us"], allow_fallbacks: false } }),
    });
    let text = "";
    let finish: string | null = null;
    let usage: OpenAI.CompletionUsage | undefined | null;
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta.content ?? "";
      finish = chunk.choices[0]?.finish_reason ?? finish;
      if (chunk.usage) usage = chunk.usage;
    }
    expect(text.split(" ")).toHaveLength(16);
    expect(finish).toBe("stop");
    expect(usage?.completion_tokens).toBe(16);
    expect(t.simulator.stats("sim-us").requests).toBeGreaterThan(0);
  });

  it("tools pass through both ways (streaming and not)", async () => {
    const tools: OpenAI.ChatCompletionTool[] = [
      {
        type: "function",
        function: {
          name: "get_weather",
          description: "Weather",
          parameters: { type: "object", properties: { city: { type: "string" } } },
        },
      },
    ];
    const before = t.simulator.stats("sim-eu").toolNames.length;
    const whole = await openai.chat.completions.create({
      model: "sim/chat-large",
      messages,
      tools,
      tool_choice: "required",
      ...extra({ provider: { only: ["sim-eu"] } }),
    });
    expect(t.simulator.stats("sim-eu").toolNames[before]).toEqual(["get_weather"]);
    const call = whole.choices[0]!.message.tool_calls![0]! as OpenAI.ChatCompletionMessageFunctionToolCall;
    expect(whole.choices[0]!.finish_reason).toBe("tool_calls");
    expect(call.function).toEqual({ name: "get_weather", arguments: '{"city":"Paris"}' });
    const stream = await openai.chat.completions.create({
      model: "sim/chat-large",
      messages,
      tools,
      tool_choice: "required",
      stream: true,
      ...extra({ provider: { only: ["sim-eu"] } }),
    });
    let args = "";
    let name = "";
    for await (const chunk of stream) {
      for (const tc of chunk.choices[0]?.delta.tool_calls ?? []) {
        name += tc.function?.name ?? "";
        args += tc.function?.arguments ?? "";
      }
    }
    expect({ name, args }).toEqual({ name: "get_weather", args: '{"city":"Paris"}' });
  });

  it("model fallbacks (`models`) and `region` as OpenRouter accepts them", async () => {
    const { data, response } = await openai.chat.completions
      .create({
        model: "sim/chat-small",
        messages,
        ...extra({
          models: ["sim/chat-large"],
          region: "eu",
          provider: { ignore: ["sim-eu/chat-small", "sim-anthropic"] },
        }),
      })
      .withResponse();
    // The one EU endpoint of chat-small left (sim-dead) refuses: the fallback model's EU endpoint serves.
    expect(data.model).toBe("sim/chat-large");
    expect(response.headers.get("x-sovr-endpoint")).toBe("sim-eu/chat-large");
  });

  it("GET /v1/models lists only models with an endpoint the caller may use", async () => {
    const models = await openai.models.list();
    const ids = models.data.map((m) => m.id);
    expect(ids).toEqual(["sim/chat-large", "sim/chat-small"]);
    const small = models.data.find((m) => m.id === "sim/chat-small") as unknown as { endpoints: string[] };
    expect(small.endpoints).toContain("sim-eu/chat-small");
  });

  describe("OpenAI-shaped errors", () => {
    const create = (body: Record<string, unknown>) =>
      openai.chat.completions.create({ model: "sim/chat-small", messages, ...body } as never).then(
        () => undefined,
        (e: unknown) => e as InstanceType<typeof OpenAI.APIError>,
      );

    it("400 names the field", async () => {
      const err = await create({ temperature: 7 });
      expect(err).toBeInstanceOf(OpenAI.BadRequestError);
      expect(err!.status).toBe(400);
      expect(err!.param).toBe("temperature");
      expect(err!.type).toBe("invalid_request_error");
      const sortErr = await create({ provider: { sort: "cheapest" } });
      expect(sortErr!.param).toBe("provider.sort");
    });

    it("404 for a model nothing serves", async () => {
      const err = await create({ model: "nobody/none" });
      expect(err).toBeInstanceOf(OpenAI.NotFoundError);
      expect(err!.code).toBe("model_not_found");
    });

    it("403 when policy and preferences exclude every endpoint, with the reason per candidate", async () => {
      const err = await create({ region: "eu", provider: { only: ["sim-us", "sim-unknown"] } });
      expect(err).toBeInstanceOf(OpenAI.PermissionDeniedError);
      expect(err!.code).toBe("no_eligible_endpoint");
      const candidates = (
        err!.error as { metadata: { candidates: { endpoint_id: string; exclusions: { rule: string }[] }[] } }
      ).metadata.candidates;
      const us = candidates.find((c) => c.endpoint_id === "sim-us/chat-small")!;
      expect(us.exclusions.map((e) => e.rule)).toContain("residency");
      expect(
        candidates.find((c) => c.endpoint_id === "sim-eu/chat-small")!.exclusions.map((e) => e.rule),
      ).toEqual(["only"]);
      expect(err!.headers?.get("x-sovr-decision-id")).toBeTruthy();
    });

    it("503 when every endpoint fails before the first token", async () => {
      t.simulator.setBehaviour("sim-eu", { fault: { kind: "status", status: 500 } });
      const err = await create({ provider: { only: ["sim-eu"] } });
      expect(err).toBeInstanceOf(OpenAI.InternalServerError);
      expect(err!.status).toBe(503);
      expect(err!.headers?.get("x-sovr-decision-id")).toBeTruthy();
    });

    it("a failure after the first token is an error event on the open 200 stream", async () => {
      t.simulator.setBehaviour("sim-eu", { fault: { kind: "abort_after", chunks: 2 } });
      const usBefore = t.simulator.stats("sim-us").requests;
      const { data: stream, response } = await openai.chat.completions
        .create({
          model: "sim/chat-small",
          messages,
          stream: true,
          ...extra({ provider: { only: ["sim-eu"] } }),
        })
        .withResponse();
      expect(response.status).toBe(200);
      let text = "";
      const err = await (async () => {
        for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? "";
      })().then(
        () => undefined,
        (e: unknown) => e as InstanceType<typeof OpenAI.APIError>,
      );
      expect(text).toBe("the quick");
      expect(err).toBeInstanceOf(OpenAI.APIError);
      expect(err!.message).toContain("interrupted");
      expect(t.simulator.stats("sim-us").requests).toBe(usBefore);
    });

    it("413 for a body over the limit; 405 for a wrong method", async () => {
      // SOVR_MAX_REQUEST_BYTES, default 32 MiB: sized for inline images and files.
      const big = "x".repeat(33 << 20);
      const res = await fetch(`${t.app.httpUrl}/v1/chat/completions`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ model: "sim/chat-small", messages: [{ role: "user", content: big }] }),
      }).catch((e: unknown) => e as Error);
      // The server answers 413 and closes; depending on timing the client sees the answer or the close.
      if (res instanceof Response) {
        expect(res.status).toBe(413);
        expect(((await res.json()) as { error: { code: string } }).error.code).toBe("request_too_large");
      }
      const get = await fetch(`${t.app.httpUrl}/v1/chat/completions`);
      expect(get.status).toBe(405);
      expect(((await get.json()) as { error: { type: string } }).error.type).toBe("invalid_request_error");
    });
  });

  it("a caller aborting the stream aborts the upstream", async () => {
    t.simulator.setBehaviour("sim-eu", { tokensPerSecond: 50, completionTokens: 500 });
    const before = t.simulator.stats("sim-eu").aborted;
    const stream = await openai.chat.completions.create({
      model: "sim/chat-small",
      messages,
      stream: true,
      ...extra({ provider: { only: ["sim-eu"] } }),
    });
    let n = 0;
    for await (const _ of stream) if (++n === 3) break; // the SDK aborts the request on break
    const start = Date.now();
    while (t.simulator.stats("sim-eu").aborted === before && Date.now() - start < 3000)
      await new Promise((r) => setTimeout(r, 10));
    expect(t.simulator.stats("sim-eu").aborted).toBe(before + 1);
  });
});
