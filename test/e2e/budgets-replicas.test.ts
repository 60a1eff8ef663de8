import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as grpc from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { estimatePromptTokens } from "../../src/routing/filters.js";
import type { TestApp } from "../support/app.js";
import { budgetUsage, burst, until } from "../support/budgets.js";
import { createFreshDatabase, dropDatabase } from "../support/databases.js";
import { GrpcJsClient } from "../support/grpc.js";
import { startRoutingApp } from "../support/routing-app.js";

/**
 * Two app instances (replicas) on one Postgres database, each with its own simulator: the
 * budget is one, and Postgres (the log's sequencer lock) is where they meet (docs/budgets.md).
 */
const PROMPT = estimatePromptTokens({ messages: [{ role: "user", content: "hello there" }] } as never);

describe.skipIf(!process.env.DATABASE_URL)("budgets across two replicas on one Postgres", () => {
  const base = process.env.DATABASE_URL!;
  let url: string;
  let keys: string;
  const replicas: TestApp[] = [];
  const clients: GrpcJsClient[] = [];
  beforeAll(async () => {
    url = await createFreshDatabase(base);
    keys = await mkdtemp(join(tmpdir(), "sovr-budget-replicas-"));
    for (const name of ["replica-a", "replica-b"]) {
      const t = await startRoutingApp({
        env: {
          DATABASE_URL: url,
          SOVR_INSTANCE: name,
          // Replicas sign with the same key, as in test/e2e/replicas.test.ts.
          SOVR_KEYS_DIR: keys,
          SOVR_FIRST_TOKEN_TIMEOUT_MS: "120000",
          SOVR_H2_MAX_CONCURRENT_STREAMS: "400",
          SOVR_BUDGET_REFRESH_MS: "100",
        },
      });
      replicas.push(t);
      clients.push(new GrpcJsClient(t.app.grpcUrl.replace("http://", "")));
    }
  });
  afterAll(async () => {
    for (const c of clients) c.close();
    for (const t of replicas) await t.close().catch(() => {});
    await rm(keys, { recursive: true, force: true });
    if (url) await dropDatabase(base, url);
  });

  it("200 concurrent requests split over both against a budget that allows exactly 31: exactly 31 pass, no double spend", async () => {
    const [a, b] = replicas as [TestApp, TestApp];
    const N = 31;
    // Set on replica a; replica b learns the tenant has a budget from the database.
    await a.app.budgets.set({ tenant: "default", keyId: "", period: "day", tokens: N * (PROMPT + 10) });
    await until(() => b.app.budgets.applies("default"), "replica b sees the budget");
    for (const t of replicas) t.simulator.setBehaviour("sim-eu", { fault: { kind: "hang" } });
    const upstream = () => a.simulator.stats("sim-eu").requests + b.simulator.stats("sim-eu").requests;
    const { refusals, refusedBy, admitted, cancelAll } = await burst(clients, 200, upstream, {
      only: ["sim-eu"],
    });
    expect(admitted).toBe(N);
    expect(refusals).toHaveLength(200 - N);
    expect(refusals.every((e) => e.code === grpc.status.RESOURCE_EXHAUSTED)).toBe(true);
    // Both replicas enforced it (the burst alternates between them).
    expect(refusedBy.every((n) => n > 0)).toBe(true);
    expect((await budgetUsage(a, "default"))[0]!.tokens).toBe(N * (PROMPT + 10));
    cancelAll();
    await until(async () => (await budgetUsage(a, "default"))[0]!.tokens === 0, "reservations released");
  }, 120_000);
});
