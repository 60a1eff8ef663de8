import { describe, expect, it } from "vitest";
import { buildSnapshot, parseCatalogFiles } from "../catalog/index.js";
import type {
  EmbeddingRequest,
  EmbeddingResult,
  UpstreamAdapter,
  UpstreamTarget,
} from "../upstream/index.js";
import { UpstreamError } from "../upstream/index.js";
import { BUNDLE, MemoryRecorder, principal } from "./fixtures/router-harness.js";
import { HealthTracker } from "./health.js";
import { Router } from "./router.js";
import type { RouteRequest } from "./types.js";

/**
 * Router.embed at its unit seam (the network and the database faked, as in
 * ./fixtures/router-harness.ts): the record is durable before the upstream call, the call
 * carries what the endpoint takes, and an API without embeddings is failed over like an outage.
 */
const CATALOG = `
provider: a
name: A
headquarters: FR
endpoints:
  - id: a/embed
    model: x/embed
    upstream_model: embed-v1
    kind: embedding
    api: openai
    base_url: http://127.0.0.1:1/a/v1
    pricing: { prompt: 3, completion: 0 }
    context_length: 8192
    supported_parameters: [user]
  - id: a/embed-anthropic
    model: x/embed
    kind: embedding
    api: anthropic
    base_url: http://127.0.0.1:1/b/v1
    pricing: { prompt: 1, completion: 0 }
    context_length: 8192
    supported_parameters: [user]
`;
const snapshot = buildSnapshot(parseCatalogFiles([{ name: "a.yaml", content: CATALOG }]));

class FakeEmbedder implements UpstreamAdapter {
  readonly calls: { target: UpstreamTarget; req: EmbeddingRequest }[] = [];
  answer: (req: EmbeddingRequest) => EmbeddingResult = (req) => ({
    vectors: req.input.map((_, i) => [i, 0.5]),
    usage: { promptTokens: 10 },
  });
  // biome-ignore lint/correctness/useYield: an embeddings-only fake has no chat stream
  async *stream(): AsyncGenerator<never> {
    throw new UpstreamError("protocol", "not a chat upstream");
  }
  async embed(target: UpstreamTarget, req: EmbeddingRequest): Promise<EmbeddingResult> {
    this.calls.push({ target, req });
    return this.answer(req);
  }
  async close(): Promise<void> {}
}

/** An Anthropic-API adapter: no `embed` at all, as the real one. */
const noEmbeddings: UpstreamAdapter = {
  // biome-ignore lint/correctness/useYield: never called for embeddings
  async *stream() {
    throw new UpstreamError("protocol", "unused");
  },
  close: async () => {},
};

function setup() {
  const log: string[] = [];
  const recorder = new MemoryRecorder(log);
  const adapter = new FakeEmbedder();
  const router = new Router({
    catalog: { current: () => snapshot },
    policy: {
      evaluate: async (input) => ({
        decision: { allow: input.endpoints.map((e) => e.id), deny: {}, permittedParameters: [] },
        bundle: BUNDLE,
        evalMicros: 1,
      }),
      activeBundle: () => BUNDLE,
    },
    recorder,
    adapters: { openai: adapter, anthropic: noEmbeddings },
    health: new HealthTracker(),
    instance: "router-test",
    timeouts: { connectTimeoutMs: 1000, firstTokenTimeoutMs: 1000, idleTimeoutMs: 1000 },
    env: {},
  });
  return { router, recorder, adapter };
}

const embedding = (order: string[], params: Record<string, unknown> = {}): RouteRequest => ({
  model: "x/embed",
  models: [],
  messages: [
    { role: "user", content: "one" },
    { role: "user", content: "two" },
  ],
  provider: { allowFallbacks: true, order, only: order },
  region: null,
  labels: {},
  params,
  workload: "",
});

describe("Router.embed", () => {
  it("no upstream call starts until the decision record is durable; the call carries the endpoint's model and the inputs", async () => {
    const t = setup();
    let commit!: () => void;
    const committed = new Promise<void>((resolve) => {
      commit = resolve;
    });
    const record = t.recorder.recordDecision.bind(t.recorder);
    t.recorder.recordDecision = async (r, i) => {
      await committed;
      return record(r, i);
    };
    const pending = t.router.embed(embedding(["a/embed"], { user: "u1" }), principal());
    await new Promise((resolve) => setImmediate(resolve));
    expect(t.adapter.calls).toEqual([]);
    commit();
    const out = await pending;
    expect(t.adapter.calls.map((c) => c.req)).toEqual([
      { model: "embed-v1", input: ["one", "two"], user: "u1" },
    ]);
    expect(out).toMatchObject({
      endpoint: { id: "a/embed" },
      attempt: 1,
      vectors: [
        [0, 0.5],
        [1, 0.5],
      ],
      usage: { promptTokens: 10, completionTokens: 0, costMicroUsd: 30 },
      unappliedParameters: [],
    });
    expect(t.recorder.decisions[0]!.record.request).toMatchObject({
      operation: "embedding",
      message_count: 2,
    });
    await new Promise((resolve) => setImmediate(resolve));
    expect(t.recorder.outcomes[0]).toMatchObject({ outcome: "success", cost_micro_usd: 30 });
  });

  it("an API without embeddings (Anthropic) is failed over as a protocol error", async () => {
    const t = setup();
    const out = await t.router.embed(embedding(["a/embed-anthropic", "a/embed"]), principal());
    expect(out.endpoint.id).toBe("a/embed");
    expect(out.attempt).toBe(2);
    await new Promise((resolve) => setImmediate(resolve));
    expect(t.recorder.outcomes[0]!.attempts.map((a) => [a.endpoint_id, a.error_class])).toEqual([
      ["a/embed-anthropic", "protocol"],
      ["a/embed", null],
    ]);
  });

  it("a wrong number of vectors is a protocol error; without usage the prompt tokens are estimated", async () => {
    const t = setup();
    t.adapter.answer = () => ({ vectors: [[1]] });
    const err = await t.router.embed(embedding(["a/embed"]), principal()).catch((e: unknown) => e);
    expect(String(err)).toMatch(/all 1 upstream attempt\(s\) failed: a\/embed \(protocol\)/);
    t.adapter.answer = (req) => ({ vectors: req.input.map(() => [1]) });
    const out = await t.router.embed(embedding(["a/embed"]), principal());
    expect(out.usage.promptTokens).toBe(2); // "one" + "two": 6 characters, ~4 per token
  });
});
