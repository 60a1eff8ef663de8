import * as grpc from "@grpc/grpc-js";
import type { ChatStreamResponse } from "../../src/gen/sovereign/v1/router_pb.js";
import { RouterService } from "../../src/gen/sovereign/v1/router_pb.js";
import type { TestApp } from "./app.js";
import type { GrpcJsClient } from "./grpc.js";
import { chat } from "./routing-app.js";

/** What a budget window of `tenant` has used, per (key, period). */
export async function budgetUsage(t: TestApp, tenant: string) {
  const rows = await t.app.db.db
    .selectFrom("budget_usage")
    .selectAll()
    .where("tenant", "=", tenant)
    .execute();
  return rows.map((r) => ({
    key: r.key_id,
    period: r.period,
    usd: Number(r.usd_micros),
    tokens: Number(r.tokens),
  }));
}

/** Whether every hold of `decisionId` is settled (none open). */
export async function settled(t: TestApp, decisionId: string): Promise<boolean> {
  const rows = await t.app.db.db
    .selectFrom("budget_holds")
    .select("settled")
    .where("decision_id", "=", decisionId)
    .execute();
  return rows.length > 0 && rows.every((r) => r.settled);
}

export async function until(
  cond: () => boolean | Promise<boolean>,
  what: string,
  ms = 60_000,
): Promise<void> {
  const start = Date.now();
  while (!(await cond())) {
    if (Date.now() - start > ms) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/**
 * Starts `n` ChatStreams at once through `clients` (round robin) against an upstream that hangs:
 * a request the budget admits reaches the simulator and waits there; one it refuses ends at
 * once. Resolves when every request is accounted for (refused, or waiting upstream), with the
 * refusals and a function cancelling the admitted ones.
 */
export async function burst(
  clients: readonly GrpcJsClient[],
  n: number,
  upstreamRequests: () => number,
  provider: object,
) {
  const before = upstreamRequests();
  const refusals: grpc.ServiceError[] = [];
  /** Refusals per client. */
  const refusedBy = clients.map(() => 0);
  const calls = Array.from({ length: n }, (_, i) => {
    const call = clients[i % clients.length]!.serverStream(
      RouterService,
      RouterService.method.chatStream,
      chat(provider, { maxTokens: 10 }),
    );
    call.on("data", (_m: ChatStreamResponse) => {});
    call.on("error", (e: grpc.ServiceError) => {
      if (e.code === grpc.status.CANCELLED) return;
      refusals.push(e);
      refusedBy[i % clients.length]! += 1;
    });
    return call;
  });
  await until(() => refusals.length + (upstreamRequests() - before) === n, "every request accounted for");
  return {
    refusals,
    refusedBy,
    admitted: upstreamRequests() - before,
    cancelAll: () => calls.forEach((c) => c.cancel()),
  };
}
