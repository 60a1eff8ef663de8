import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AnthropicAdapter } from "./anthropic-adapter.js";
import { UpstreamError } from "./errors.js";
import { type RecordedUpstream, startRecordedUpstream } from "./fixtures/recorded-upstream.js";
import { PoolSet } from "./http-call.js";
import { OpenAICompatibleAdapter } from "./openai-adapter.js";
import type { EmbeddingRequest, UpstreamAdapter, UpstreamCallOptions } from "./types.js";

/**
 * OpenAICompatibleAdapter.embed against a real HTTP server on port 0 answering in OpenAI's
 * documented `/v1/embeddings` shape (https://platform.openai.com/docs/api-reference/embeddings/create),
 * written in small slices so the JSON arrives split across reads.
 */

let upstream: RecordedUpstream;
let pools: PoolSet;
let adapter: OpenAICompatibleAdapter;
beforeAll(async () => {
  upstream = await startRecordedUpstream();
  pools = new PoolSet(4);
  adapter = new OpenAICompatibleAdapter(pools);
});
afterAll(async () => {
  await pools?.close();
  await upstream?.close();
});

const SECRET = "an input that must never reach an error message";
const options = (o: Partial<UpstreamCallOptions> = {}): UpstreamCallOptions => ({
  connectTimeoutMs: 2000,
  firstTokenTimeoutMs: 5000,
  idleTimeoutMs: 5000,
  requestId: "0190f5c4-0000-7000-8000-000000000002",
  ...o,
});
const target = () => ({ baseUrl: `${upstream.url}/v1/`, apiKey: "sk-test" });
const embed = (req: EmbeddingRequest, o: Partial<UpstreamCallOptions> = {}) =>
  adapter.embed(target(), req, options(o));
const json = { "content-type": "application/json" };

/** OpenAI's answer shape, data deliberately out of order (index says which input). */
const ANSWER = JSON.stringify({
  object: "list",
  data: [
    { object: "embedding", index: 1, embedding: [0.25, -0.5, 1e-7] },
    { object: "embedding", index: 0, embedding: [-0.0069292835, 0.00005336, 0.75] },
  ],
  model: "text-embedding-3-small",
  usage: { prompt_tokens: 9, total_tokens: 9 },
});

describe("OpenAICompatibleAdapter.embed", () => {
  it("POSTs {base}/embeddings with model, input, dimensions and user; vectors in input order, usage", async () => {
    upstream.reply({ headers: json, body: ANSWER, slice: 5 });
    const result = await embed({
      model: "text-embedding-3-small",
      input: ["first", SECRET],
      dimensions: 3,
      user: "u-1",
    });
    expect(result).toEqual({
      vectors: [
        [-0.0069292835, 0.00005336, 0.75],
        [0.25, -0.5, 1e-7],
      ],
      usage: { promptTokens: 9 },
    });
    const sent = upstream.requests.at(-1)!;
    expect(sent.path).toBe("/v1/embeddings");
    expect(sent.headers.authorization).toBe("Bearer sk-test");
    expect(sent.headers["x-request-id"]).toBe("0190f5c4-0000-7000-8000-000000000002");
    expect(sent.body).toEqual({
      model: "text-embedding-3-small",
      input: ["first", SECRET],
      dimensions: 3,
      user: "u-1",
    });
  });

  it("sends neither dimensions nor user unless asked; no usage in the answer → none reported", async () => {
    upstream.reply({ headers: json, body: JSON.stringify({ data: [{ embedding: [1, 2] }] }) });
    const result = await embed({ model: "m", input: ["x"] });
    expect(result).toEqual({ vectors: [[1, 2]] });
    expect(upstream.requests.at(-1)!.body).toEqual({ model: "m", input: ["x"] });
  });

  it("reads base64 little-endian float32 vectors from a server that sends them anyway", async () => {
    const floats = new Float32Array([0.5, -1.25, 3]);
    const b64 = Buffer.from(floats.buffer).toString("base64");
    upstream.reply({ headers: json, body: JSON.stringify({ data: [{ index: 0, embedding: b64 }] }) });
    expect((await embed({ model: "m", input: ["x"] })).vectors).toEqual([[0.5, -1.25, 3]]);
  });

  it.each([
    ["a wrong vector count", { data: [] }],
    [
      "a repeated index",
      {
        data: [
          { index: 0, embedding: [1] },
          { index: 0, embedding: [2] },
        ],
      },
    ],
    [
      "an index out of range",
      {
        data: [
          { index: 1, embedding: [1] },
          { index: 2, embedding: [2] },
        ],
      },
    ],
    ["a non-numeric value", { data: [{ embedding: [1, "x"] }, { embedding: [2] }] }],
  ])("%s is a protocol error", async (_name, body) => {
    upstream.reply({ headers: json, body: JSON.stringify(body) });
    const err = await embed({ model: "m", input: ["a", SECRET] }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UpstreamError);
    expect((err as UpstreamError).errorClass).toBe("protocol");
  });

  it("an unparseable answer is a protocol error", async () => {
    upstream.reply({ headers: json, body: '{"data": [' });
    const err = (await embed({ model: "m", input: ["x"] }).catch((e: unknown) => e)) as UpstreamError;
    expect(err.errorClass).toBe("protocol");
  });

  it.each([
    [429, "rate_limited"],
    [503, "server"],
    [400, "client"],
    [401, "auth"],
  ])(
    "HTTP %i is %s, and the provider's error text (quoting the input) goes nowhere",
    async (status, errorClass) => {
      upstream.reply({
        status,
        headers: { ...json, "retry-after": "7" },
        body: JSON.stringify({ error: { message: SECRET } }),
      });
      const err = (await embed({ model: "m", input: [SECRET] }).catch((e: unknown) => e)) as UpstreamError;
      expect(err).toBeInstanceOf(UpstreamError);
      expect(err.errorClass).toBe(errorClass);
      expect(err.status).toBe(status);
      if (status === 429) expect(err.retryAfterMs).toBe(7000);
      expect(`${err.message} ${String(err.cause ?? "")}`).not.toContain(SECRET);
    },
  );

  it("no answer within the first-token timeout: timeout_first_token", async () => {
    // Nothing written: not even the headers leave the server.
    upstream.reply({ headers: json, body: "", ending: "hang" });
    const err = (await embed({ model: "m", input: ["x"] }, { firstTokenTimeoutMs: 100 }).catch(
      (e: unknown) => e,
    )) as UpstreamError;
    expect(err.errorClass).toBe("timeout_first_token");
  });

  it("an answer that stalls half-way: timeout_idle", async () => {
    upstream.reply({ headers: json, body: '{"data": [', ending: "hang" });
    const err = (await embed({ model: "m", input: ["x"] }, { idleTimeoutMs: 100 }).catch(
      (e: unknown) => e,
    )) as UpstreamError;
    expect(err.errorClass).toBe("timeout_idle");
  });

  it("the Anthropic API has no embeddings: its adapter has no embed", () => {
    const anthropic: UpstreamAdapter = new AnthropicAdapter(pools);
    expect(anthropic.embed).toBeUndefined();
  });
});
