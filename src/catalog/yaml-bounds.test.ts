import { describe, expect, it } from "vitest";
import { YAML_LIMITS, yamlTooDeep } from "./yaml-bounds.js";

const flow = (depth: number) => `a: ${"[".repeat(depth - 1)}${"]".repeat(depth - 1)}\n`;

describe("yamlTooDeep", () => {
  it("counts nested collections, flow and block, up to the limit inclusive", () => {
    expect(yamlTooDeep(flow(YAML_LIMITS.depth))).toBeUndefined();
    expect(yamlTooDeep(flow(YAML_LIMITS.depth + 1))).toBe(1);
    expect(yamlTooDeep("a:\n  b:\n    c: 1\n", 3)).toBeUndefined();
    expect(yamlTooDeep("a:\n  b:\n    c: [1]\n", 3)).toBe(3);
    expect(yamlTooDeep("x: 1\n---\n- - - 1\n", 2)).toBe(3);
  });

  it("does not count brackets inside scalars, quoted strings and comments", () => {
    const text = `a: "${"[".repeat(200)}"\nb: '${"{".repeat(200)}'\nc: |\n  ${"[".repeat(200)}\n# ${"[".repeat(200)}\n`;
    expect(yamlTooDeep(text, 1)).toBeUndefined();
  });

  it("measures 30,000 levels without overflowing the stack", () => {
    expect(yamlTooDeep(`a: ${"{b: ".repeat(30_000)}1${"}".repeat(30_000)}`)).toBe(1);
  });
});
