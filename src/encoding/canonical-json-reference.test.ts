import { describe, expect, it } from "vitest";
import { seeded as rng } from "../../test/support/seeded.js";
import { assertIntegersOnly, canonicalize, canonicalizeRecord } from "./canonical-json.js";

/** The canonicaliser as first written (array of parts, filter + sort per object): the reference. */
function reference(value: unknown): string {
  const out: string[] = [];
  const write = (v: unknown): void => {
    if (v === null) {
      out.push("null");
      return;
    }
    switch (typeof v) {
      case "boolean":
        out.push(v ? "true" : "false");
        return;
      case "number":
        if (!Number.isFinite(v)) throw new TypeError(`canonical JSON cannot represent ${v}`);
        out.push(JSON.stringify(v));
        return;
      case "string":
        out.push(JSON.stringify(v));
        return;
      case "object": {
        if (Array.isArray(v)) {
          out.push("[");
          for (let i = 0; i < v.length; i++) {
            if (i > 0) out.push(",");
            write(v[i] === undefined ? null : v[i]);
          }
          out.push("]");
          return;
        }
        const obj = v as Record<string, unknown>;
        const keys = Object.keys(obj)
          .filter((k) => obj[k] !== undefined)
          .sort();
        out.push("{");
        keys.forEach((k, i) => {
          if (i > 0) out.push(",");
          out.push(JSON.stringify(k), ":");
          write(obj[k]);
        });
        out.push("}");
        return;
      }
      default:
        throw new TypeError(`canonical JSON cannot represent a ${typeof v}`);
    }
  };
  write(value);
  return out.join("");
}

const ALPHABET = [
  "a",
  "b",
  "Z",
  "_",
  "0",
  "é",
  "€",
  "\u0000",
  "\u001f",
  '"',
  "\\",
  "/",
  "\n",
  "😀",
  "\ud800",
  "\udc00",
  " ",
];

function randomString(r: () => number): string {
  let s = "";
  const n = Math.floor(r() * 6);
  for (let i = 0; i < n; i++) s += ALPHABET[Math.floor(r() * ALPHABET.length)];
  return s;
}

function randomNumber(r: () => number): number {
  const k = r();
  if (k < 0.3) return Math.floor(r() * 2_000_000) - 1_000_000;
  if (k < 0.4) return k < 0.35 ? -0 : 0;
  if (k < 0.5) return Number.MAX_SAFE_INTEGER - Math.floor(r() * 3);
  if (k < 0.7) return (r() - 0.5) * 10 ** Math.floor(r() * 60 - 30);
  if (k < 0.8) return r() * 1e21;
  return Buffer.from(Array.from({ length: 8 }, () => Math.floor(r() * 256))).readDoubleBE(0);
}

function randomValue(r: () => number, depth: number): unknown {
  const k = r();
  if (depth <= 0 || k < 0.35) {
    const s = r();
    if (s < 0.1) return null;
    if (s < 0.2) return r() < 0.5;
    if (s < 0.55) return randomNumber(r);
    if (s < 0.6) return undefined;
    return randomString(r);
  }
  if (k < 0.6) return Array.from({ length: Math.floor(r() * 5) }, () => randomValue(r, depth - 1));
  const obj: Record<string, unknown> = {};
  const n = Math.floor(r() * 6);
  for (let i = 0; i < n; i++) obj[randomString(r)] = randomValue(r, depth - 1);
  return obj;
}

function outcome(f: () => string): string {
  try {
    return f();
  } catch (err) {
    // A TypeError's subclasses (NotSafeIntegerError) count as the TypeError they are.
    const kind = err instanceof TypeError ? "TypeError" : (err as Error).constructor.name;
    return `throws ${kind}: ${(err as Error).message}`;
  }
}

describe("canonicalize agrees with the reference implementation", () => {
  it("on 20,000 random values: the same text, or the same error", () => {
    const r = rng(19);
    for (let i = 0; i < 20_000; i++) {
      const v = randomValue(r, 4);
      expect(outcome(() => canonicalize(v))).toBe(outcome(() => reference(v)));
    }
  });

  it("on values JSON cannot carry, and on objects that are not plain", () => {
    const odd: unknown[] = [
      Number.NaN,
      { a: Number.POSITIVE_INFINITY },
      [1n],
      { f: () => 1 },
      [Symbol("s")],
      new Date(0),
      new Map([[1, 2]]),
      Object.assign(Object.create({ inherited: 1 }), { own: 2 }),
      { [Symbol("k")]: 1, k: 2 },
      [undefined, null, 3],
      new Array(3),
      { u: undefined },
      {},
      [],
    ];
    for (const v of odd) expect(outcome(() => canonicalize(v))).toBe(outcome(() => reference(v)));
  });
});

/** Integers only, as first written: a walk naming every path, in the members' own order. */
const naive = (x: unknown, path = "$"): void => {
  if (typeof x === "number") {
    if (!Number.isSafeInteger(x)) throw new TypeError(`${path}: ${x} is not a safe integer`);
  } else if (Array.isArray(x)) x.forEach((y, j) => naive(y, `${path}[${j}]`));
  else if (x !== null && typeof x === "object")
    for (const [k, y] of Object.entries(x)) naive(y, `${path}.${k}`);
};

describe("canonicalizeRecord agrees with the check, then the reference, of the record spread with its overlay", () => {
  it("on 20,000 random objects and overlays: the same text, or the same error naming the same path", () => {
    const r = rng(23);
    for (let i = 0; i < 20_000; i++) {
      let v = randomValue(r, 4);
      if (v === null || typeof v !== "object" || Array.isArray(v)) v = { only: v };
      const o = r() < 0.3 ? undefined : (randomValue(r, 2) as Record<string, unknown>);
      const overlay = o !== null && typeof o === "object" && !Array.isArray(o) ? o : { v: 2, tenant_seq: i };
      const merged = { ...(v as object), ...overlay };
      expect(outcome(() => canonicalizeRecord(v as object, overlay))).toBe(
        outcome(() => {
          naive(merged);
          return reference(merged);
        }),
      );
    }
  });
});

describe("assertIntegersOnly", () => {
  it("accepts and rejects what a walk naming every path does, naming the same path", () => {
    const r = rng(7);
    for (let i = 0; i < 5_000; i++) {
      const v = randomValue(r, 4);
      expect(
        outcome(() => {
          assertIntegersOnly(v);
          return "ok";
        }),
      ).toBe(
        outcome(() => {
          naive(v);
          return "ok";
        }),
      );
    }
  });
});
