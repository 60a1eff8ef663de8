import { describe, expect, it } from "vitest";
import { type KnownProblems, parseDecision, type ReasonMemo } from "./decision.js";
import { PolicyEvaluationError } from "./errors.js";

const IDS = ["a", "b", "c", "d"];
const CHECKS = [["zdr: ", "tenant t: zdr: "], ["residency: "]];
const KEYS = ["retention", null];
const KNOWN: KnownProblems = {
  b: { retention: "endpoint retains prompts for 30 days (source: provider)" },
  c: { retention: "retention unknown, assumed indefinite (source: assumed)" },
};

const parse = (result: Record<string, unknown>, memo?: ReasonMemo, known: KnownProblems = KNOWN) =>
  parseDecision([{ result }], IDS, new Set(IDS), known, memo);

const positional = (problems: unknown[], extra: Record<string, unknown> = {}) => ({
  allow: ["a"],
  checks: CHECKS,
  keys: KEYS,
  problems,
  ...extra,
});

describe("parseDecision: problems by position", () => {
  const entries = [
    [],
    [0],
    [0, [1, "endpoint processed in region us, eu required (source: endpoint)"]],
    [[1, "m"]],
  ];

  it("reads one entry per candidate, in candidate order, as the object by id said it", () => {
    const byPosition = parse(positional(entries));
    const byId = parse(positional([], { problems: { b: entries[1], c: entries[2], d: entries[3] } }));
    expect(byPosition).toEqual(byId);
    expect(byPosition.allow).toEqual(["a"]);
    expect(byPosition.deny).toEqual({
      b: [
        "tenant t: zdr: endpoint retains prompts for 30 days (source: provider)",
        "zdr: endpoint retains prompts for 30 days (source: provider)",
      ],
      c: [
        "residency: endpoint processed in region us, eu required (source: endpoint)",
        "tenant t: zdr: retention unknown, assumed indefinite (source: assumed)",
        "zdr: retention unknown, assumed indefinite (source: assumed)",
      ],
      d: ["residency: m"],
    });
    expect(byPosition.applied).toEqual(["residency: ", "tenant t: zdr: ", "zdr: "]);
  });

  it("answers the same with the reason memo, first and again, and the memo's lists stay its own", () => {
    const memo: ReasonMemo = { known: KNOWN, lists: new Map() };
    const plain = parse(positional(entries));
    const first = parse(positional(entries), memo);
    const again = parse(positional(entries), memo);
    expect(first).toEqual(plain);
    expect(again).toEqual(plain);
    // b's reasons (known problems only) come from the memo the second time.
    expect(again.deny.b).toBe(first.deny.b);
    expect(Object.isFrozen(again.deny.b)).toBe(true);
    again.applied!.push("changed");
    expect(parse(positional(entries), memo).applied).toEqual(plain.applied);
  });

  it("does not take remembered reasons for other known problems of the same endpoint", () => {
    const memo: ReasonMemo = { known: KNOWN, lists: new Map() };
    const checks = [["zdr: "], ["data_collection: "]];
    const keys = ["retention", "training"];
    const known: KnownProblems = { b: { retention: "r", training: "t" } };
    memo.known = known;
    const one = parse({ allow: [], checks, keys, problems: [[], [0], [], []] }, memo, known);
    const two = parse({ allow: [], checks, keys, problems: [[], [0, 1], [], []] }, memo, known);
    expect(one.deny.b).toEqual(["zdr: r"]);
    expect(two.deny.b).toEqual(["data_collection: t", "zdr: r"]);
  });

  it.each([
    ["fewer entries than candidates", positional([[], [0], [0]])],
    ["more entries than candidates", positional([[], [0], [0], [0], []])],
    ["an entry that is not an array", positional([[], 0, [], []])],
    ["an allowed candidate with a problem", positional([[0], [], [], []], { allow: ["a", "b", "c", "d"] })],
    ["a check index out of range", positional([[], [7], [0], [0]])],
    ["a bare index without a known message", positional([[], [1], [0], [0]])],
    ["problems neither an array nor an object", positional([], { problems: "b" })],
  ])("refuses %s (fail closed)", (_, result) => {
    for (const memo of [undefined, { known: KNOWN, lists: new Map() }]) {
      const err = (() => {
        try {
          parse(result, memo);
        } catch (e) {
          return e;
        }
      })();
      expect(err).toBeInstanceOf(PolicyEvaluationError);
      expect((err as PolicyEvaluationError).kind).toBe("malformed");
    }
  });

  it("reads known problems kept by index (the shipped bundle) as those kept by name", () => {
    const byIndex: KnownProblems = {
      b: ["endpoint retains prompts for 30 days (source: provider)", null],
      c: ["retention unknown, assumed indefinite (source: assumed)", null],
    };
    const result = positional(entries, { keys: [0, null] });
    expect(parse(result, undefined, byIndex)).toEqual(parse(positional(entries)));
    const memo: ReasonMemo = { known: byIndex, lists: new Map() };
    expect(parse(result, memo, byIndex)).toEqual(parse(positional(entries)));
    // An index past the endpoint's problems, one whose problem is null, a name against an
    // index-kept endpoint: no known message, a malformed answer.
    for (const keys of [
      [5, null],
      [1, null],
      ["retention", null],
    ])
      expect(() => parse(positional(entries, { keys }), undefined, byIndex)).toThrow(PolicyEvaluationError);
  });

  it("validates the checks of an answer before its memo holds them", () => {
    const memo: ReasonMemo = { known: KNOWN, lists: new Map() };
    const bad = positional(entries, { checks: [["zdr: "], []] });
    for (let i = 0; i < 2; i++) expect(() => parse(bad, memo)).toThrow(/no reason prefixes/);
    expect(memo.lists.size).toBe(0);
  });

  it("reads allow as the candidates' positions (the shipped bundle) as it reads their ids", () => {
    const byPosition = parse(positional(entries, { allow: [0] }));
    expect(byPosition).toEqual(parse(positional(entries)));
    expect(parse(positional([[], [], [], [[1, "m"]]], { allow: [2, 0, 1] })).allow).toEqual(["a", "b", "c"]);
  });

  it("refuses an allowed position that names no candidate, or a candidate with problems", () => {
    for (const allow of [[4], [-1], [0.5], [null], [[0]]])
      expect(() => parse(positional(entries, { allow })), JSON.stringify(allow)).toThrow(
        PolicyEvaluationError,
      );
    expect(() => parse(positional(entries, { allow: [0, 1] }))).toThrow(PolicyEvaluationError);
  });

  it("a candidate no entry and no rule decides is denied as undecided, in the object shape", () => {
    const d = parse({ allow: ["a"], checks: CHECKS, keys: KEYS, problems: { b: [0] } });
    expect(d.deny.c).toEqual(["policy: endpoint neither allowed nor denied by the policy (fail closed)"]);
  });
});
