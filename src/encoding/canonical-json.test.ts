import { describe, expect, it } from "vitest";
import {
  assertIntegersOnly,
  canonicalize,
  canonicalizeRecord,
  NotSafeIntegerError,
} from "./canonical-json.js";

/** The IEEE-754 double whose 64 bits are `hex` (big-endian), as RFC 8785 Appendix B lists them. */
function fromIeeeHex(hex: string): number {
  return Buffer.from(hex, "hex").readDoubleBE(0);
}

describe("canonicalize: RFC 8785 number serialisation (Appendix B)", () => {
  // Every finite sample of RFC 8785 Appendix B, "Number Serialization Samples".
  const samples: [string, string, string][] = [
    ["0000000000000000", "0", "zero"],
    ["8000000000000000", "0", "minus zero"],
    ["0000000000000001", "5e-324", "min pos number"],
    ["8000000000000001", "-5e-324", "min neg number"],
    ["7fefffffffffffff", "1.7976931348623157e+308", "max pos number"],
    ["ffefffffffffffff", "-1.7976931348623157e+308", "max neg number"],
    ["4340000000000000", "9007199254740992", "max pos int"],
    ["c340000000000000", "-9007199254740992", "max neg int"],
    ["4430000000000000", "295147905179352830000", "~2**68"],
    ["44b52d02c7e14af5", "9.999999999999997e+22", ""],
    ["44b52d02c7e14af6", "1e+23", ""],
    ["44b52d02c7e14af7", "1.0000000000000001e+23", ""],
    ["444b1ae4d6e2ef4e", "999999999999999700000", ""],
    ["444b1ae4d6e2ef4f", "999999999999999900000", ""],
    ["444b1ae4d6e2ef50", "1e+21", ""],
    ["3eb0c6f7a0b5ed8c", "9.999999999999997e-7", ""],
    ["3eb0c6f7a0b5ed8d", "0.000001", ""],
    ["41b3de4355555553", "333333333.3333332", ""],
    ["41b3de4355555554", "333333333.33333325", ""],
    ["41b3de4355555555", "333333333.3333333", ""],
    ["41b3de4355555556", "333333333.3333334", ""],
    ["41b3de4355555557", "333333333.33333343", ""],
    ["becbf647612f3696", "-0.0000033333333333333333", ""],
    ["43143ff3c1cb0959", "1424953923781206.2", "round to even"],
  ];
  it.each(samples)("%s serialises as %s %s", (hex, expected) => {
    expect(canonicalize(fromIeeeHex(hex))).toBe(expected);
    expect(canonicalize([fromIeeeHex(hex)])).toBe(`[${expected}]`);
  });

  // Appendix B's NaN and Infinity rows: "MUST cause an error".
  it.each(["7fffffffffffffff", "7ff0000000000000", "fff0000000000000"])("%s is rejected", (hex) => {
    expect(() => canonicalize(fromIeeeHex(hex))).toThrow(TypeError);
    expect(() => canonicalize({ a: fromIeeeHex(hex) })).toThrow(TypeError);
  });
});

describe("canonicalize: RFC 8785 §3.2.2 / §3.2.4 example", () => {
  // §3.2.2: the input, parsed by an ordinary JSON parser; §3.2.3/§3.2.4: its canonical form.
  const input = `{
    "numbers": [333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001],
    "string": "\\u20ac$\\u000F\\u000aA'\\u0042\\u0022\\u005c\\\\\\"\\/",
    "literals": [null, true, false]
  }`;
  const expected =
    '{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],' +
    '"string":"€$\\u000f\\nA\'B\\"\\\\\\\\\\"/"}';
  // §3.2.4, the UTF-8 bytes of the canonical form.
  const expectedHex = `
    7b 22 6c 69 74 65 72 61 6c 73 22 3a 5b 6e 75 6c 6c 2c 74 72
    75 65 2c 66 61 6c 73 65 5d 2c 22 6e 75 6d 62 65 72 73 22 3a
    5b 33 33 33 33 33 33 33 33 33 2e 33 33 33 33 33 33 33 2c 31
    65 2b 33 30 2c 34 2e 35 2c 30 2e 30 30 32 2c 31 65 2d 32 37
    5d 2c 22 73 74 72 69 6e 67 22 3a 22 e2 82 ac 24 5c 75 30 30
    30 66 5c 6e 41 27 42 5c 22 5c 5c 5c 5c 5c 22 2f 22 7d`.replace(/\s+/g, "");

  it("produces the canonical text", () => {
    expect(canonicalize(JSON.parse(input))).toBe(expected);
  });
  it("produces the canonical UTF-8 bytes", () => {
    expect(Buffer.from(canonicalize(JSON.parse(input)), "utf8").toString("hex")).toBe(expectedHex);
  });
  it("is idempotent", () => {
    expect(canonicalize(JSON.parse(expected))).toBe(expected);
  });
});

describe("canonicalize: RFC 8785 §3.2.3 sorting of properties", () => {
  const input = `{
    "\\u20ac": "Euro Sign",
    "\\r": "Carriage Return",
    "\\ufb33": "Hebrew Letter Dalet With Dagesh",
    "1": "One",
    "\\ud83d\\ude00": "Emoji: Grinning Face",
    "\\u0080": "Control",
    "\\u00f6": "Latin Small Letter O With Diaeresis"
  }`;

  it("orders members by UTF-16 code units, not code points or UTF-8 bytes", () => {
    const out = canonicalize(JSON.parse(input));
    // Object.values would put the integer-like key "1" first, so read the values off the text.
    const values = [...out.matchAll(/:"([^"]*)"/g)].map((m) => m[1]);
    // §3.2.3 lists the expected order of the values.
    expect(values).toEqual([
      "Carriage Return",
      "One",
      "Control",
      "Latin Small Letter O With Diaeresis",
      "Euro Sign",
      "Emoji: Grinning Face",
      "Hebrew Letter Dalet With Dagesh",
    ]);
    expect(out).toBe(
      '{"\\r":"Carriage Return","1":"One","\u0080":"Control","\u00f6":"Latin Small Letter O With Diaeresis",' +
        '"\u20ac":"Euro Sign","\u{1f600}":"Emoji: Grinning Face","\ufb33":"Hebrew Letter Dalet With Dagesh"}',
    );
  });
});

describe("canonicalize: the RFC's reference test data (cyberphone/json-canonicalization testdata)", () => {
  const vectors: [string, string, string][] = [
    [
      "structures",
      '{\n  "1": {"f": {"f": "hi","F": 5} ,"\\n": 56.0},\n  "10": { },\n  "": "empty",\n  "a": { },\n  "111": [ { } ],\n  "A": { }\n}',
      '{"":"empty","1":{"\\n":56,"f":{"F":5,"f":"hi"}},"10":{},"111":[{}],"A":{},"a":{}}',
    ],
    [
      "weird",
      '{\n  "\\u20ac": "Euro Sign",\n  "1": "One",\n  "\\u0080": "Control\\u007f",\n  "\\ud83d\\ude02": "Smiley",\n' +
        '  "\\u00f6": "Latin Small Letter O With Diaeresis",\n  "\\ufb33": "Hebrew Letter Dalet With Dagesh",\n' +
        '  "</script>": "Browser Challenge"\n}',
      '{"1":"One","</script>":"Browser Challenge","\u0080":"Control\u007f","\u00f6":"Latin Small Letter O With Diaeresis",' +
        '"\u20ac":"Euro Sign","\u{1f602}":"Smiley","\ufb33":"Hebrew Letter Dalet With Dagesh"}',
    ],
    [
      "arrays",
      '[\n  56,\n  {\n    "d": true,\n    "10": null,\n    "1": [ ]\n  }\n]',
      '[56,{"1":[],"10":null,"d":true}]',
    ],
    [
      "values",
      '{\n  "numbers": [1E30, 4.50, 6, 2e-3, 0.000000000000000000000000001],\n' +
        '  "escaping": "\\u20ac$\\u000F\\u000aA\'\\u0042\\u0022\\u005c\\\\\\"\\/",\n  "other":  [null, true, false]\n}',
      '{"escaping":"€$\\u000f\\nA\'B\\"\\\\\\\\\\"/","numbers":[1e+30,4.5,6,0.002,1e-27],"other":[null,true,false]}',
    ],
  ];
  it.each(vectors)("%s", (_name, input, expected) => {
    expect(canonicalize(JSON.parse(input))).toBe(expected);
  });
});

describe("canonicalize: string escaping (RFC 8785 §3.2.2.2)", () => {
  it("uses the short escapes for \\b \\t \\n \\f \\r and lowercase \\u00xx for other controls", () => {
    const all = Array.from({ length: 0x20 }, (_, i) => String.fromCharCode(i)).join("");
    expect(canonicalize(all)).toBe(
      '"\\u0000\\u0001\\u0002\\u0003\\u0004\\u0005\\u0006\\u0007\\b\\t\\n\\u000b\\f\\r\\u000e\\u000f' +
        '\\u0010\\u0011\\u0012\\u0013\\u0014\\u0015\\u0016\\u0017\\u0018\\u0019\\u001a\\u001b\\u001c\\u001d\\u001e\\u001f"',
    );
  });
  it("escapes only quote and backslash among printable characters; leaves / < > & and non-ASCII alone", () => {
    expect(canonicalize('"\\/<>&\u007f\u00e9\u{1f600}')).toBe('"\\"\\\\/<>&\u007f\u00e9\u{1f600}"');
  });
});

describe("canonicalize: structure", () => {
  it("has no whitespace and keeps array order", () => {
    expect(canonicalize({ b: [3, 1, 2], a: { d: null, c: true } })).toBe(
      '{"a":{"c":true,"d":null},"b":[3,1,2]}',
    );
  });
  it("sorts nested objects inside arrays", () => {
    expect(canonicalize([{ z: 1, y: 2 }, []])).toBe('[{"y":2,"z":1},[]]');
  });
  it("drops undefined members and writes undefined array elements as null, like JSON.stringify", () => {
    expect(canonicalize({ a: undefined, b: [undefined] })).toBe('{"b":[null]}');
  });
  it("rejects values JSON cannot carry", () => {
    expect(() => canonicalize(1n)).toThrow(TypeError);
    expect(() => canonicalize({ f: () => 1 })).toThrow(TypeError);
    expect(() => canonicalize(Symbol("x"))).toThrow(TypeError);
  });
  it("orders any key list as sort() does: short lists sorted in place, long ones by sort()", () => {
    // Keys from an alphabet with integer-like names, surrogate pairs and characters above
    // them; 0 to 40 keys, across the insertion-sort bound (32); objects in random key order.
    const alphabet = ["0", "1", "2", "9", "a", "B", "_", "é", "\u20ac", "\ud83d\ude00", "\uff61", "\u00f6"];
    let seed = 7;
    const rand = (n: number) => {
      // xorshift32: deterministic, in 32-bit integers.
      seed ^= seed << 13;
      seed ^= seed >>> 17;
      seed ^= seed << 5;
      return (seed >>> 0) % n;
    };
    for (let round = 0; round < 500; round++) {
      const obj: Record<string, string> = {};
      const count = rand(41);
      while (Object.keys(obj).length < count) {
        let k = "";
        for (let i = 1 + rand(4); i > 0; i--) k += alphabet[rand(alphabet.length)];
        obj[k] = `v${round}`;
      }
      const expected = `{${Object.keys(obj)
        .sort()
        .map((k) => `${JSON.stringify(k)}:${JSON.stringify(obj[k])}`)
        .join(",")}}`;
      expect(canonicalize(obj), `round ${round}`).toBe(expected);
    }
  });

  it("quotes member names as JSON does, the first time and every later time, past the kept names' bound too", () => {
    const names = ['say "hi"', "back\\slash", "tab\there", "\u0001", "é\u{1f600}", "x".repeat(65), "plain"];
    for (let pass = 0; pass < 3; pass++)
      for (const k of names)
        expect(canonicalize({ [k]: 1 }), `${pass} ${k}`).toBe(`{${JSON.stringify(k)}:1}`);
    // More distinct names than are kept: each still quoted right.
    for (let i = 0; i < 5000; i++) {
      const k = `n${i}"\n`;
      expect(canonicalize({ [k]: i })).toBe(`{${JSON.stringify(k)}:${i}}`);
    }
    expect(canonicalize({ 'say "hi"': 2 })).toBe('{"say \\"hi\\"":2}');
  });

  it("agrees with JSON.stringify on key-sorted integer-only data", () => {
    const v = { a: 1, b: "x", c: [true, false, null, -7], d: { e: 9007199254740991 } };
    expect(canonicalize(v)).toBe(JSON.stringify(v));
  });
});

describe("assertIntegersOnly", () => {
  it("accepts safe integers anywhere, and values without numbers", () => {
    expect(() =>
      assertIntegersOnly({
        a: 0,
        b: [-1, 9007199254740991, -9007199254740991],
        c: { d: "1.5", e: null, f: true },
      }),
    ).not.toThrow();
    expect(() => assertIntegersOnly("x")).not.toThrow();
    expect(() => assertIntegersOnly(null)).not.toThrow();
  });
  it("rejects fractions, naming the path", () => {
    expect(() => assertIntegersOnly({ a: { b: [1, 2.5] } })).toThrow("$.a.b[1]: 2.5 is not a safe integer");
  });
  it("rejects unsafe integers, NaN and infinities", () => {
    expect(() => assertIntegersOnly({ x: 9007199254740992 })).toThrow("$.x");
    expect(() => assertIntegersOnly([Number.NaN])).toThrow("$[0]");
    expect(() => assertIntegersOnly({ y: Number.POSITIVE_INFINITY })).toThrow("$.y");
    expect(() => assertIntegersOnly(-0.0000001)).toThrow("$");
  });
});

describe("canonicalizeRecord", () => {
  const record = {
    v: 1,
    kind: "outcome",
    z: [{ b: 2, a: [3, { y: null, x: -4 }] }],
    gone: undefined,
    é: "ü",
    "\u00e9a": 5,
    nested: { c: "", b: true, a: 9007199254740991 },
  };

  it("writes what canonicalize writes of the record with the overlay spread over it", () => {
    expect(canonicalizeRecord(record)).toBe(canonicalize(record));
    for (const overlay of [{ v: 2, tenant_seq: 7 }, { tenant_seq: 1 }, { a: 0, zz: 1, v: 3 }, {}]) {
      expect(canonicalizeRecord(record, overlay)).toBe(canonicalize({ ...record, ...overlay }));
    }
    // The record is not changed.
    expect(record.v).toBe(1);
    expect("tenant_seq" in record).toBe(false);
  });

  it("refuses a number that is not a safe integer, naming where, as assertIntegersOnly does", () => {
    for (const [bad, where] of [
      [{ ...record, nested: { a: 1.5 } }, "$.nested.a: 1.5"],
      [{ ...record, z: [{ b: Number.NaN }] }, "$.z[0].b: NaN"],
      [{ ...record, n: 9007199254740992 }, "$.n: 9007199254740992"],
      [{ ...record, i: Number.NEGATIVE_INFINITY }, "$.i: -Infinity"],
    ] as const) {
      expect(() => canonicalizeRecord(bad)).toThrow(NotSafeIntegerError);
      expect(() => canonicalizeRecord(bad)).toThrow(`${where} is not a safe integer`);
      expect(() => assertIntegersOnly(bad)).toThrow(`${where} is not a safe integer`);
    }
    expect(() => canonicalizeRecord(record, { tenant_seq: 0.5 })).toThrow(
      "$.tenant_seq: 0.5 is not a safe integer",
    );
    // canonicalize itself still takes fractions.
    expect(canonicalize({ a: 1.5 })).toBe('{"a":1.5}');
  });

  it("refuses what JSON cannot carry, as canonicalize does", () => {
    expect(() => canonicalizeRecord({ f: () => 1 })).toThrow(/cannot represent a function/);
    expect(() => canonicalizeRecord({ b: 1n })).toThrow(/cannot represent a bigint/);
  });
});
