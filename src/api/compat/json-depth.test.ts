import { describe, expect, it } from "vitest";
import { jsonTooDeep } from "./json-depth.js";

const nest = (depth: number, open: string, close: string) =>
  JSON.parse(open.repeat(depth) + close.repeat(depth));

describe("jsonTooDeep", () => {
  it("counts arrays and objects, not scalars", () => {
    expect(jsonTooDeep(1, 0)).toBe(false);
    expect(jsonTooDeep("[[[", 0)).toBe(false);
    expect(jsonTooDeep({}, 0)).toBe(true);
    expect(jsonTooDeep({ a: [{ b: 1 }] }, 3)).toBe(false);
    expect(jsonTooDeep({ a: [{ b: [] }] }, 3)).toBe(true);
  });

  it("measures 100,000 levels without overflowing the stack", () => {
    expect(jsonTooDeep(nest(100_000, "[", "]"), 64)).toBe(true);
    const deepObject = JSON.parse(`${'{"a":'.repeat(100_000)}1${"}".repeat(100_000)}`);
    expect(jsonTooDeep(deepObject, 64)).toBe(true);
    expect(jsonTooDeep(nest(64, "[", "]"), 64)).toBe(false);
  });
});
