import { describe, expect, it } from "vitest";
import { clusterDigits, digitRuns, endAt } from "./digit-runs.js";

describe("digitRuns", () => {
  it("lists each maximal run of ASCII digits once, at the text's edges too", () => {
    expect([...digitRuns("12ab 3 4567-89")]).toEqual([0, 2, 5, 6, 7, 11, 12, 14]);
    expect([...digitRuns("no digits here")]).toEqual([]);
    expect([...digitRuns("٣٤ 5")]).toEqual([3, 4]); // Arabic-Indic digits are not ASCII digits
  });
  it("grows past its reused buffer for a long text, and the next call starts afresh", () => {
    const long = "1 ".repeat(5000);
    const runs = digitRuns(long);
    expect(runs.length).toBe(10_000);
    expect([runs[9998], runs[9999]]).toEqual([9998, 9999]);
    expect([...digitRuns("a 12")]).toEqual([2, 4]);
  });
});

describe("clusterDigits", () => {
  const space = (c: number): boolean => c === 32;
  it("counts digits across runs joined by allowed characters, up to the need", () => {
    const text = "4111 1111 1111 1111";
    const runs = digitRuns(text);
    expect(clusterDigits(text, runs, 0, 12, space, 1)).toBe(12);
    expect(clusterDigits(text, runs, 0, 99, space, 1)).toBe(16);
    expect(clusterDigits(text, runs, 4, 99, space, 1)).toBe(8);
  });
  it("stops at a gap that is too wide or holds another character", () => {
    const text = "1234  5678 x 9012";
    const runs = digitRuns(text);
    expect(clusterDigits(text, runs, 0, 99, space, 1)).toBe(4);
    expect(clusterDigits(text, runs, 0, 99, space, 2)).toBe(8);
  });
});

describe("endAt", () => {
  it("gives the end of a sticky match starting exactly there, or -1", () => {
    const re = /\d{3}/y;
    expect(endAt(re, "ab123", 2)).toBe(5);
    expect(endAt(re, "ab123", 1)).toBe(-1);
  });
});
