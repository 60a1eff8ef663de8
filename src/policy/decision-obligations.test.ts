import { describe, expect, it } from "vitest";
import { parseDecision } from "./decision.js";
import { PolicyEvaluationError } from "./errors.js";

const parse = (result: Record<string, unknown>) => parseDecision([{ result }], ["a", "b", "c"]);

describe("parseDecision: obligations", () => {
  it("keeps the allowed endpoints' obligations, categories sorted and distinct", () => {
    const d = parse({
      allow: ["a", "b"],
      deny: { c: ["x: no"] },
      obligations: { b: { redact: ["iban", "email", "iban"] }, c: { redact: ["email"] } },
    });
    expect(d.obligations).toEqual({ b: { redact: ["email", "iban"] } });
  });

  it("absent: none", () => {
    expect(parse({ allow: ["a"], deny: { b: ["x: no"], c: ["x: no"] } }).obligations).toBeUndefined();
  });

  it.each([
    [[]],
    [{ zz: { redact: ["email"] } }],
    [{ a: ["email"] }],
    [{ a: { redact: [] } }],
    [{ a: { redact: "email" } }],
    [{ a: { redact: [1] } }],
    [{ a: { redact: ["a,b"] } }],
    [{ a: { redact: ["email"], encrypt: true } }],
  ])("refuses a malformed obligations document %j (fail closed)", (obligations) => {
    expect(() => parse({ allow: ["a"], deny: { b: ["x: no"], c: ["x: no"] }, obligations })).toThrow(
      PolicyEvaluationError,
    );
  });
});
