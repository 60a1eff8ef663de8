import { beforeAll, describe, expect, it } from "vitest";
import type { BudgetRefusal } from "../budget/index.js";
import { BudgetExceededError, NoEligibleEndpointError, receiptOf, StreamInterruptedError } from "./errors.js";
import {
  EU,
  fail,
  finish,
  loadFixtureCatalog,
  principal,
  request,
  routeOf,
  run,
  setup,
  text,
  US,
} from "./fixtures/router-harness.js";

beforeAll(loadFixtureCatalog);

/** A recorder that hands back a receipt per record (and, when given, a budget refusal). */
function withReceipts(t: ReturnType<typeof setup>, refusal?: BudgetRefusal) {
  const record = t.recorder.recordDecision.bind(t.recorder);
  t.recorder.recordDecision = async (r, i) => {
    await record(r, i);
    return { receipt: `receipt-of-${r.decision_id}`, ...(refusal ? { refusal } : {}) };
  };
}

/** The Router passes the durable record's receipt on (docs/audit.md §9): the route, every refusal and failure after it. */
describe("Router: receipts", () => {
  it("the route event carries the receipt of the decision record", async () => {
    const t = setup({ scripts: { "sim-eu": [text("hi"), finish] } });
    withReceipts(t);
    const { events, error } = await run(t.router);
    expect(error).toBeUndefined();
    const route = routeOf(events);
    expect(route).toMatchObject({ receipt: `receipt-of-${route?.type === "route" ? route.decisionId : ""}` });
  });

  it("a denial, a budget refusal and a broken stream carry it on their errors", async () => {
    const denied = setup();
    withReceipts(denied);
    const d = await run(denied.router, request({ only: ["sim-nowhere"] }));
    expect(d.error).toBeInstanceOf(NoEligibleEndpointError);
    expect(receiptOf(d.error)).toBe(`receipt-of-${(d.error as NoEligibleEndpointError).decisionId}`);

    const over = setup({ scripts: { "sim-eu": [text("hi"), finish] } });
    withReceipts(over, {
      scope: { tenant: "acme", keyId: "", period: "day" },
      limit: { tokens: 1 },
    } as BudgetRefusal);
    const b = await run(over.router);
    expect(b.error).toBeInstanceOf(BudgetExceededError);
    expect(receiptOf(b.error)).toBe(`receipt-of-${(b.error as BudgetExceededError).decisionId}`);
    expect(over.adapter.calls).toEqual([]);

    const broken = setup({ scripts: { "sim-eu": [text("par"), fail("stream_broken")] } });
    withReceipts(broken);
    const s = await run(broken.router, request({ only: ["sim-eu"] }));
    expect(s.error).toBeInstanceOf(StreamInterruptedError);
    expect(receiptOf(s.error)).toBe(`receipt-of-${(s.error as StreamInterruptedError).decisionId}`);
  });

  it("without a receipt from the recorder, none is made up", async () => {
    const t = setup({ scripts: { "sim-eu": [text("hi"), finish] } });
    const { events } = await run(t.router, request({ only: ["sim-eu"] }), principal());
    expect(routeOf(events)).not.toHaveProperty("receipt");
    expect([EU, US]).toContain((routeOf(events) as { endpoint: { id: string } }).endpoint.id);
  });
});
