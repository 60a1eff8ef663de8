import { describe, expect, it } from "vitest";
import { isUuidv7, uuidv7, uuidv7Time } from "./uuidv7.js";

describe("uuidv7", () => {
  it("has the RFC 9562 layout: version 7, variant 10, the timestamp in the first 48 bits", () => {
    const t = Date.UTC(2026, 10, 22, 3, 4, 5, 678);
    const id = uuidv7(t + 10_000);
    expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(isUuidv7(id)).toBe(true);
    expect(uuidv7Time(id)).toBe(t + 10_000);
  });

  it("matches the RFC 9562 Appendix A.6 example's timestamp field", () => {
    // Example: 017F22E2-79B0-7CC3-98C4-DC0C0C07398F, unix ms 0x017F22E279B0 (Tuesday, February 22, 2022 2:22:22 PM GMT-05:00).
    expect(uuidv7Time("017f22e2-79b0-7cc3-98c4-dc0c0c07398f")).toBe(0x017f22e279b0);
    expect(new Date(0x017f22e279b0).toISOString()).toBe("2022-02-22T19:22:22.000Z");
  });

  it("is strictly increasing, also within one millisecond and when the clock steps back", () => {
    const base = Date.UTC(2030, 0, 1);
    const ids: string[] = [];
    for (let i = 0; i < 10_000; i++) ids.push(uuidv7(base + (i % 3 === 0 ? 0 : Math.floor(i / 1000))));
    ids.push(uuidv7(base - 5_000));
    for (let i = 1; i < ids.length; i++)
      expect(ids[i]! > ids[i - 1]!, `${ids[i - 1]} < ${ids[i]}`).toBe(true);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it("rejects other UUID versions", () => {
    expect(isUuidv7("017f22e2-79b0-4cc3-98c4-dc0c0c07398f")).toBe(false);
    expect(isUuidv7("017f22e2-79b0-7cc3-08c4-dc0c0c07398f")).toBe(false);
    expect(isUuidv7("017F22E2-79B0-7CC3-98C4-DC0C0C07398F")).toBe(false);
    expect(() => uuidv7Time("nope")).toThrow(TypeError);
  });
});
