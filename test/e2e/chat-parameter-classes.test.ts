import OpenAI from "openai";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { type RecordingApp, startRecordingApp } from "../support/recording-app.js";
import { outcomeOf } from "../support/routing-app.js";

/**
 * What a parameter means for routing (routing/parameters.ts), seen from the `openai` SDK against
 * a recording upstream: contract parameters and input modalities exclude the endpoints that do
 * not declare them, advisory ones are not sent there and are named in the response and the
 * outcome record (or exclude with require_parameters), retention ones need the policy's
 * permission; usage details and the cached-prompt price reach the answer and the record.
 */
describe("Chat Completions: parameter classes, modalities, usage and cost", () => {
  let r: RecordingApp;
  let openai: OpenAI;
  const user = { role: "user" as const, content: "hello" };
  const extra = (o: Record<string, unknown>) => o as object;
  const refusal = (p: Promise<unknown>) =>
    p.then(
      () => undefined,
      (e: unknown) => e as InstanceType<typeof OpenAI.APIError>,
    );
  type Candidate = { endpoint_id: string; exclusions: { rule: string; reason: string }[] };
  const candidates = (err: InstanceType<typeof OpenAI.APIError> | undefined) =>
    (err?.error as { metadata?: { candidates: Candidate[] } } | undefined)?.metadata?.candidates ?? [];

  beforeAll(async () => {
    r = await startRecordingApp();
    openai = new OpenAI({ baseURL: `${r.t.app.httpUrl}/v1`, apiKey: "sk-unused-auth-off", maxRetries: 0 });
  });
  afterAll(async () => r?.close());
  beforeEach(() => r.upstream.reset());

  it("a contract parameter excludes an endpoint that does not declare it, with that reason", async () => {
    const err = await refusal(
      openai.chat.completions.create({
        model: "rec/chat",
        messages: [user],
        logprobs: true,
        ...extra({ provider: { only: ["rec-text"] } }),
      }),
    );
    expect([err?.status, err?.code]).toEqual([403, "no_eligible_endpoint"]);
    const text = candidates(err).find((c) => c.endpoint_id === "rec-text/chat")!;
    expect(text.exclusions).toContainEqual(
      expect.objectContaining({ rule: "parameters", reason: expect.stringContaining("logprobs") }),
    );
    expect(r.upstream.requests).toHaveLength(0);
  });

  it("an advisory parameter is not sent where undeclared, and is named in the header and the record", async () => {
    const { data, response } = await openai.chat.completions
      .create({
        model: "rec/chat",
        messages: [user],
        presence_penalty: 0.7,
        temperature: 0.2,
        ...extra({ provider: { only: ["rec-text"] } }),
      })
      .withResponse();
    expect(data.choices[0]!.message.content).toBe("ok");
    expect(response.headers.get("x-sovr-unapplied-parameters")).toBe("presence_penalty");
    const body = r.upstream.requests.at(-1)!.body;
    expect(body.temperature).toBe(0.2);
    expect(body).not.toHaveProperty("presence_penalty");
    const outcome = await outcomeOf(r.t, response.headers.get("x-sovr-decision-id")!);
    expect(outcome.unapplied_parameters).toEqual(["presence_penalty"]);
    // Streaming says it too, in the headers sent with the first token.
    const stream = await openai.chat.completions
      .create({
        model: "rec/chat",
        messages: [user],
        stream: true,
        seed: 3,
        ...extra({ provider: { only: ["rec-text"] } }),
      })
      .withResponse();
    for await (const _ of stream.data);
    expect(stream.response.headers.get("x-sovr-unapplied-parameters")).toBe("seed");
  });

  it("with require_parameters the advisory parameter excludes the endpoint instead", async () => {
    const err = await refusal(
      openai.chat.completions.create({
        model: "rec/chat",
        messages: [user],
        frequency_penalty: 0.3,
        ...extra({ provider: { only: ["rec-text"], require_parameters: true } }),
      }),
    );
    expect(err?.status).toBe(403);
    expect(candidates(err).find((c) => c.endpoint_id === "rec-text/chat")!.exclusions).toContainEqual(
      expect.objectContaining({ rule: "require_parameters" }),
    );
    expect(r.upstream.requests).toHaveLength(0);
  });

  it.each([
    ["store: true", { store: true }],
    ["prompt_cache_key", { prompt_cache_key: "k-1" }],
    ["prompt_cache_retention", { prompt_cache_retention: "24h" as const }],
  ])(
    "%s is refused by the shipped policy: every candidate excluded by retention_parameters",
    async (_name, fields) => {
      const err = await refusal(
        openai.chat.completions.create({ model: "rec/chat", messages: [user], ...fields }),
      );
      expect(err?.status).toBe(403);
      const all = candidates(err);
      expect(all).toHaveLength(3);
      for (const c of all) expect(c.exclusions.map((e) => e.rule)).toContain("retention_parameters");
      expect(r.upstream.requests).toHaveLength(0);
    },
  );

  it("an inline image goes only to an endpoint that takes images; an image URL needs image_urls", async () => {
    const png =
      "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==";
    const ask = (url: string) =>
      openai.chat.completions
        .create({
          model: "rec/chat",
          messages: [{ role: "user", content: [{ type: "image_url", image_url: { url } }] }],
          ...extra({ provider: { sort: "price" } }),
        })
        .withResponse();
    const inline = await ask(`data:image/png;base64,${png}`);
    // Cheapest first: rec-text is excluded (no image input), so rec-vision serves.
    expect(inline.response.headers.get("x-sovr-endpoint")).toBe("rec-vision/chat");
    expect(r.upstream.requests.map((q) => q.endpoint)).toEqual(["rec-vision"]);
    const byUrl = await ask("https://images.example/cat.png");
    // rec-vision does not fetch URLs (no image_urls): rec-full serves.
    expect(byUrl.response.headers.get("x-sovr-endpoint")).toBe("rec-full/chat");
    const textOnly = await refusal(
      openai.chat.completions.create({
        model: "rec/chat",
        messages: [
          {
            role: "user",
            content: [{ type: "image_url", image_url: { url: `data:image/png;base64,${png}` } }],
          },
        ],
        ...extra({ provider: { only: ["rec-text"] } }),
      }),
    );
    expect(candidates(textOnly).find((c) => c.endpoint_id === "rec-text/chat")!.exclusions).toContainEqual(
      expect.objectContaining({ rule: "input_modalities" }),
    );
  });

  it("usage details and cost at the cached-prompt price, in the answer and the outcome record", async () => {
    r.upstream.reply({
      usage: {
        prompt_tokens: 1000,
        completion_tokens: 100,
        total_tokens: 1100,
        prompt_tokens_details: { cached_tokens: 600, audio_tokens: 5 },
        completion_tokens_details: { reasoning_tokens: 40, audio_tokens: 0 },
      },
    });
    const { data, response } = await openai.chat.completions
      .create({ model: "rec/chat", messages: [user], ...extra({ provider: { only: ["rec-full"] } }) })
      .withResponse();
    // 400 × $2/M + 600 × $0.5/M (cached) + 100 × $8/M = 1,900 micro-USD.
    expect(data.usage).toEqual({
      prompt_tokens: 1000,
      completion_tokens: 100,
      total_tokens: 1100,
      prompt_tokens_details: { cached_tokens: 600, audio_tokens: 5 },
      completion_tokens_details: { reasoning_tokens: 40, audio_tokens: 0 },
      cost: 0.0019,
    });
    const outcome = await outcomeOf(r.t, response.headers.get("x-sovr-decision-id")!);
    expect(outcome.cost_micro_usd).toBe(1900);
    expect(outcome.usage).toMatchObject({
      cached_prompt_tokens: 600,
      reasoning_tokens: 40,
      audio_prompt_tokens: 5,
    });
  });

  it("n = 2 streamed: deltas and finishes by choice index", async () => {
    r.upstream.reply({ choices: [{ content: "one" }, { content: "two", finishReason: "length" }] });
    const stream = await openai.chat.completions.create({
      model: "rec/chat",
      messages: [user],
      n: 2,
      stream: true,
    });
    const text = ["", ""];
    const finish: (string | null)[] = [null, null];
    for await (const c of stream)
      for (const ch of c.choices) {
        text[ch.index] += ch.delta.content ?? "";
        finish[ch.index] = ch.finish_reason ?? finish[ch.index]!;
      }
    expect(text).toEqual(["one", "two"]);
    expect(finish).toEqual(["stop", "length"]);
    expect(r.upstream.requests.at(-1)!.body.n).toBe(2);
  });
});
