import { mkdtemp, readFile, writeFile } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { MessageInitShape } from "@bufbuild/protobuf";
import { type DsseEnvelope, envelopePayload } from "../../src/audit/dsse.js";
import type { ChatRequest, ChatRequestSchema } from "../../src/gen/sovereign/v1/router_pb.js";
import type { OutcomeRecordV1 } from "../../src/routing/decision-record.js";
import { REPO, startTestApp, type TestApp, type TestAppOptions } from "./app.js";

/**
 * The test catalog plus two providers for routing tests: `sim-dead` (a port nobody listens on:
 * connection refused, and the cheapest, so it is first whenever it is allowed) and
 * `sim-anthropic` (the simulator speaking the Anthropic Messages API).
 */
const EXTRA = `
---
provider: sim-dead
name: Simulator Dead
headquarters: FR
policy: { retention_days: 0, trains_on_data: false, caching: none, residency: { region: eu, country: FR } }
endpoints:
  - id: sim-dead/chat-small
    model: sim/chat-small
    api: openai
    base_url: \${SIM_DEAD_URL}/v1
    pricing: { prompt: 0.05, completion: 0.05 }
    context_length: 32768
    quantization: bf16
    supported_parameters: [temperature, max_tokens]
---
provider: sim-anthropic
name: Simulator Anthropic
headquarters: FR
policy: { retention_days: 0, trains_on_data: false, caching: none, residency: { region: eu, country: DE } }
endpoints:
  - id: sim-anthropic/chat-small
    model: sim/chat-small
    upstream_model: claude-sim
    api: anthropic
    base_url: \${SOVR_SIMULATOR_URL}/sim-anthropic/v1
    api_key_env: SIM_ANTHROPIC_KEY
    pricing: { prompt: 4, completion: 4 }
    context_length: 200000
    supported_parameters: [temperature, top_p, top_k, max_tokens, stop, tools, tool_choice, parallel_tool_calls, user, reasoning_effort, service_tier, image_urls]
    input_modalities: [text, image, file]
`;

/** A port that refuses connections (bound, then closed). */
export async function closedPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, "127.0.0.1", () => r()));
  const { port } = s.address() as { port: number };
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

/** The simulator instances the routing app's catalog sends requests to (sim-dead refuses them). */
export const ROUTING_SIMULATORS = ["sim-eu", "sim-us", "sim-unknown", "sim-anthropic"] as const;

export async function startRoutingApp(opts: TestAppOptions = {}): Promise<TestApp> {
  const dir = await mkdtemp(join(tmpdir(), "sovr-routing-catalog-"));
  const base = await readFile(join(REPO, "test/fixtures/catalog/simulator.yaml"), "utf8");
  await writeFile(join(dir, "simulator.yaml"), base + EXTRA);
  return startTestApp({
    catalogDir: dir,
    ...opts,
    env: {
      SIM_DEAD_URL: `http://127.0.0.1:${await closedPort()}`,
      SIM_ANTHROPIC_KEY: "shared-anthropic-key",
      // The extra providers' variables, on the catalog allow-lists (src/config/env-allowlist.ts).
      SOVR_CATALOG_URL_VARS: "SOVR_SIMULATOR_URL,SIM_DEAD_URL",
      SOVR_PROVIDER_KEY_VARS: "SIM_ANTHROPIC_KEY",
      SOVR_CATALOG_WATCH: "off",
      ...opts.env,
    },
  });
}

/** A ChatStream/Chat request for `sim/chat-small` with the given provider preferences. */
export function chat(
  provider: MessageInitShape<typeof ChatRequestSchema>["provider"] = {},
  o: Omit<Partial<MessageInitShape<typeof ChatRequestSchema>>, "$typeName"> = {},
): MessageInitShape<typeof ChatRequestSchema> {
  return { model: "sim/chat-small", messages: [{ role: "user", content: "hello there" }], provider, ...o };
}

/** The outcome record of a decision, once the router has appended it. */
export async function outcomeOf(t: TestApp, decisionId: string): Promise<OutcomeRecordV1> {
  for (let i = 0; i < 200; i++) {
    await t.app.audit.settled();
    const row = await t.app.db.db
      .selectFrom("audit_log")
      .select("envelope")
      .where("decision_id", "=", decisionId)
      .where("kind", "=", "outcome")
      .executeTakeFirst();
    if (row)
      return JSON.parse(
        new TextDecoder().decode(envelopePayload(JSON.parse(row.envelope) as DsseEnvelope)),
      ) as OutcomeRecordV1;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`no outcome record for ${decisionId}`);
}

/** The decision id of the most recent decision (for calls that failed before a route). */
export async function lastDecisionId(t: TestApp): Promise<string> {
  await t.app.audit.settled();
  const row = await t.app.db.db
    .selectFrom("audit_decisions")
    .select("decision_id")
    .orderBy("decision_seq", "desc")
    .executeTakeFirstOrThrow();
  return row.decision_id;
}

export type { ChatRequest };
