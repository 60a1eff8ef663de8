import { describe, expect, it } from "vitest";
import { reservationFor, settlementOf } from "./budget-hold.js";
import { estimatePromptTokens } from "./filters.js";
import { endpoint, request } from "./fixtures/candidates.js";
import { costMicroUsd } from "./outcome.js";

describe("budget reservation", () => {
  const cheap = endpoint("a/x", { pricing: { prompt: 0.5, completion: 0.5 }, contextLength: 8000 });
  const dear = endpoint("b/x", { pricing: { prompt: 1, completion: 4 }, contextLength: 4000 });

  it("reserves max_tokens plus the prompt estimate at the plan's highest price", () => {
    const req = { ...request(), maxTokens: 100 };
    const prompt = estimatePromptTokens(req);
    const r = reservationFor(req, [cheap, dear]);
    expect(r.tokens).toBe(prompt + 100);
    expect(r.usdMicros).toBe(costMicroUsd({ promptTokens: prompt, completionTokens: 100 }, dear));
    expect(r.usdMicros).toBeGreaterThan(costMicroUsd({ promptTokens: prompt, completionTokens: 100 }, cheap));
  });

  it("without max_tokens, reserves the most each endpoint can answer (its context less the prompt)", () => {
    const req = request();
    const prompt = estimatePromptTokens(req);
    const r = reservationFor(req, [cheap, dear]);
    expect(r.tokens).toBe(8000);
    expect(r.usdMicros).toBe(
      Math.max(
        costMicroUsd({ promptTokens: prompt, completionTokens: 8000 - prompt }, cheap),
        costMicroUsd({ promptTokens: prompt, completionTokens: 4000 - prompt }, dear),
      ),
    );
    expect(reservationFor({ ...req, operation: "embedding" }, [dear]).tokens).toBe(prompt);
  });

  it("without max_tokens, an endpoint's stated output limit bounds its reservation", () => {
    const req = request();
    const prompt = estimatePromptTokens(req);
    const limited = endpoint("c/x", {
      pricing: { prompt: 1, completion: 4 },
      contextLength: 4000,
      maxOutputTokens: 256,
    });
    expect(reservationFor(req, [limited])).toEqual({
      tokens: prompt + 256,
      usdMicros: costMicroUsd({ promptTokens: prompt, completionTokens: 256 }, limited),
    });
    const roomy = endpoint("d/x", {
      pricing: { prompt: 1, completion: 4 },
      contextLength: 300,
      maxOutputTokens: 9999,
    });
    expect(reservationFor(req, [roomy]).tokens).toBe(300);
  });

  it("settles the reported usage, else the prompt and the streamed chunks, else nothing", () => {
    const req = request();
    const usage = { promptTokens: 7, completionTokens: 3, costMicroUsd: 42 };
    expect(settlementOf(usage, dear, req, 99)).toEqual({ usdMicros: 42, tokens: 10 });
    const prompt = estimatePromptTokens(req);
    expect(settlementOf(undefined, dear, req, 5)).toEqual({
      usdMicros: costMicroUsd({ promptTokens: prompt, completionTokens: 5 }, dear),
      tokens: prompt + 5,
    });
    expect(settlementOf(undefined, undefined, req, 0)).toEqual({ usdMicros: 0, tokens: 0 });
  });
});
