import * as grpc from "@grpc/grpc-js";
import OpenAI from "openai";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { envelopePayload } from "../../src/audit/dsse.js";
import { type ChatStreamResponse, RouterService } from "../../src/gen/sovereign/v1/router_pb.js";
import { Replayer } from "../../src/replay/replay.js";
import { estimatePromptTokens } from "../../src/routing/filters.js";
import { appDatabases, type TestApp } from "../support/app.js";
import { budgetUsage, burst, settled, until } from "../support/budgets.js";
import { collect, GrpcJsClient } from "../support/grpc.js";
import { chat, lastDecisionId, outcomeOf, startRoutingApp } from "../support/routing-app.js";

/**
 * Budgets through a real server (docs/budgets.md): the reservation taken with the decision
 * record, the refusal (ResourceExhausted / 429) recorded as a denial, and the settlement at the
 * outcome — after failover, an aborted stream and a failed call.
 */
const TENANT = "default"; // auth off: every caller is the default tenant's client
const EU_ONLY = { only: ["sim-eu"] };
// The prompt estimate of chat()'s request, as the router makes it.
const PROMPT = estimatePromptTokens({ messages: [{ role: "user", content: "hello there" }] } as never);

describe.each(appDatabases)("budgets (%s)", (database) => {
  let t: TestApp;
  let client: GrpcJsClient;
  beforeAll(async () => {
    t = await startRoutingApp({
      database,
      env: { SOVR_FIRST_TOKEN_TIMEOUT_MS: "120000", SOVR_H2_MAX_CONCURRENT_STREAMS: "400" },
    });
    client = new GrpcJsClient(t.app.grpcUrl.replace("http://", ""));
  });
  afterAll(async () => {
    client?.close();
    await t?.close();
  });
  beforeEach(async () => {
    t.simulator.resetBehaviour();
    await t.app.audit.drain();
    for (const table of ["budgets", "budget_usage", "budget_holds"] as const)
      await t.app.db.db.deleteFrom(table).execute();
    await t.app.budgets.refresh();
  });

  it("200 concurrent requests against a budget that allows exactly 23: 23 reach the upstream, 177 are refused naming the budget and recorded as denials", async () => {
    const N = 23;
    await t.app.budgets.set({ tenant: TENANT, keyId: "", period: "day", tokens: N * (PROMPT + 10) });
    t.simulator.setBehaviour("sim-eu", { fault: { kind: "hang" } });
    const { refusals, admitted, cancelAll } = await burst(
      [client],
      200,
      () => t.simulator.stats("sim-eu").requests,
      EU_ONLY,
    );
    expect(admitted).toBe(N);
    expect(refusals).toHaveLength(200 - N);
    for (const e of refusals) {
      expect(e.code).toBe(grpc.status.RESOURCE_EXHAUSTED);
      expect(e.details).toBe(
        `budget exceeded: the daily budget of tenant ${TENANT} (${N * (PROMPT + 10)} tokens per UTC day) does not cover this request`,
      );
    }
    // The window holds exactly the admitted reservations: no double spend.
    expect(await budgetUsage(t, TENANT)).toEqual([
      { key: "", period: "day", usd: expect.any(Number), tokens: N * (PROMPT + 10) },
    ]);
    await t.app.audit.drain();
    const denied = await t.app.db.db
      .selectFrom("audit_decisions")
      .select(["decision_id", "outcome"])
      .where("outcome", "=", "denied")
      .execute();
    expect(denied).toHaveLength(200 - N);
    const row = await t.app.db.db
      .selectFrom("audit_log")
      .select("envelope")
      .where("decision_id", "=", denied[0]!.decision_id)
      .executeTakeFirstOrThrow();
    const record = JSON.parse(new TextDecoder().decode(envelopePayload(JSON.parse(row.envelope))));
    expect(record.plan).toEqual([]);
    expect(record.checks).toContainEqual({
      stage: "availability",
      rule: "budget",
      reason: `budget: the daily budget of tenant ${TENANT} (${N * (PROMPT + 10)} tokens per UTC day) would be exceeded`,
    });
    // Cancelled before a token: nothing is known to be used, so the reservations are released.
    cancelAll();
    await until(async () => (await budgetUsage(t, TENANT))[0]!.tokens === 0, "reservations released");
  }, 120_000);

  it("answers HTTP 429 on the OpenAI surface, naming the budget", async () => {
    await t.app.budgets.set({ tenant: TENANT, keyId: "", period: "month", usdMicros: 1 });
    const openai = new OpenAI({
      baseURL: `${t.app.httpUrl}/v1`,
      apiKey: "sk-unused-auth-off",
      maxRetries: 0,
    });
    const err = (await openai.chat.completions
      .create({
        model: "sim/chat-small",
        messages: [{ role: "user", content: "hello there" }],
        max_tokens: 10,
      })
      .catch((e: unknown) => e)) as InstanceType<typeof OpenAI.APIError>;
    expect(err.status).toBe(429);
    expect(err.message).toContain(`monthly budget of tenant ${TENANT} (0.000001 USD per UTC month)`);
    await t.app.audit.drain();
    const d = await t.app.db.db
      .selectFrom("audit_decisions")
      .select("outcome")
      .where("decision_id", "=", await lastDecisionId(t))
      .executeTakeFirstOrThrow();
    expect(d.outcome).toBe("denied");
    // Replay re-decides it and applies the recorded budget denial: the rest must match.
    const replayer = new Replayer({ db: t.app.db.db, catalog: t.app.catalog, livePolicy: t.app.policy });
    const replayed = await replayer.replay(await lastDecisionId(t));
    expect(replayed.differences).toEqual([]);
    expect(replayed.match).toBe(true);
  });

  it("settles from the actual usage after failover", async () => {
    await t.app.budgets.set({ tenant: TENANT, keyId: "", period: "day", usdMicros: 10_000_000 });
    const msgs = await collect<ChatStreamResponse>(
      client.serverStream(
        RouterService,
        RouterService.method.chatStream,
        chat({ order: ["sim-dead", "sim-us"], only: ["sim-dead", "sim-us"] }, { maxTokens: 10 }),
      ),
    );
    const route = msgs[0]!.event;
    if (route.case !== "route") throw new Error("route first");
    expect(route.value.attempt).toBe(2);
    const outcome = await outcomeOf(t, route.value.decisionId);
    await until(() => settled(t, route.value.decisionId), "settled");
    const u = outcome.usage!;
    expect(await budgetUsage(t, TENANT)).toEqual([
      { key: "", period: "day", usd: outcome.cost_micro_usd, tokens: u.prompt_tokens + u.completion_tokens },
    ]);
  });

  it("settles an aborted stream with what was streamed, and a failed call with nothing", async () => {
    await t.app.budgets.set({ tenant: TENANT, keyId: "", period: "day", tokens: 1_000_000 });
    t.simulator.setBehaviour("sim-eu", { tokensPerSecond: 50, completionTokens: 500 });
    const call = client.serverStream(
      RouterService,
      RouterService.method.chatStream,
      chat(EU_ONLY, { maxTokens: 400 }),
    );
    let deltas = 0;
    let decisionId = "";
    const ended = new Promise<grpc.ServiceError>((r) => call.on("error", r));
    call.on("data", (m: ChatStreamResponse) => {
      if (m.event.case === "route") decisionId = m.event.value.decisionId;
      if (m.event.case === "delta" && ++deltas === 3) call.cancel();
    });
    expect((await ended).code).toBe(grpc.status.CANCELLED);
    await until(() => settled(t, decisionId), "aborted stream settled");
    const [afterAbort] = await budgetUsage(t, TENANT);
    expect(afterAbort!.tokens).toBeGreaterThanOrEqual(PROMPT + 3);
    expect(afterAbort!.tokens).toBeLessThan(PROMPT + 400);

    // Every attempt fails (connection refused): nothing was used, the reservation is released.
    const failed = await collect(
      client.serverStream(
        RouterService,
        RouterService.method.chatStream,
        chat({ only: ["sim-dead"] }, { maxTokens: 10 }),
      ),
    ).catch((e: grpc.ServiceError) => e);
    expect((failed as grpc.ServiceError).code).toBe(grpc.status.UNAVAILABLE);
    const failedId = await lastDecisionId(t);
    await until(() => settled(t, failedId), "failed call settled");
    expect((await budgetUsage(t, TENANT))[0]!.tokens).toBe(afterAbort!.tokens);
  });

  it("takes no reservation for a tenant without budgets", async () => {
    const msgs = await collect<ChatStreamResponse>(
      client.serverStream(RouterService, RouterService.method.chatStream, chat(EU_ONLY, { maxTokens: 10 })),
    );
    expect(msgs.at(-1)!.event.case).toBe("finish");
    expect(await t.app.db.db.selectFrom("budget_holds").selectAll().execute()).toEqual([]);
  });
});
