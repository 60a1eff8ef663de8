import { describe, expect, it } from "vitest";
import { loadCorpus, score } from "../../test/support/detect-corpus.js";
import { CATEGORIES, type Category, countLabels, findSpans } from "./index.js";

/** The categories found in `text`, with the text they cover (test-side only). */
function found(text: string): [Category, string][] {
  return findSpans(text).map((s) => [s.category, text.slice(s.start, s.end)]);
}

describe("findSpans: valid and checksum-failing examples per category", () => {
  const cases: [Category, string[], string[]][] = [
    ["email", ["jane.doe+x@example.co.uk"], ["@channel", "user@localhost", "a@b"]],
    ["phone", ["+49 30 1234567", "+33612345678", "030 12345678"], ["2024-03-12", "1.234,56"]],
    [
      "iban",
      ["DE89 3704 0044 0532 0130 00", "FR1420041010050500013M02606", "NL91ABNA0417164300"],
      ["DE88 3704 0044 0532 0130 00", "NL91ABNA0417164301"],
    ],
    [
      "payment_card",
      ["4111 1111 1111 1111", "5500-0000-0000-0004", "378282246310005"],
      ["4111 1111 1111 1112", "1234 5678 9012 3456"],
    ],
    // DE Steuer-IdNr, FR NIR (spaced and compact), ES DNI and NIE, IT codice fiscale
    [
      "national_id",
      [
        "65929970489",
        "1 85 05 78 006 084 91",
        "185057800608491",
        "12345678Z",
        "X1234567L",
        "RSSMRA85T10A562S",
      ],
      ["65929970488", "1 85 05 78 006 084 37", "12345678A", "X1234567A", "RSSMRA85T10A562T"],
    ],
    ["ip_address", ["192.168.10.1", "2001:db8:85a3::8a2e:370:7334"], ["256.1.1.1", "v1.22.3", "std::vector"]],
    [
      "secret",
      [
        "AKIAIOSFODNN7EXAMPLE",
        `ghp_${"a1B2".repeat(9)}`,
        `glpat-${"x".repeat(20)}`,
        `sk-ant-api03-${"A".repeat(93)}AA`,
        `sk-proj-${"Ab1_".repeat(30)}`,
        `AIza${"B".repeat(35)}`,
        "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U",
        `-----BEGIN RSA PRIVATE KEY-----\n${"QUJD".repeat(16)}\n-----END RSA PRIVATE KEY-----`,
      ],
      ["sk-learn", "ghp_short", "AKIA1234", "550e8400-e29b-41d4-a716-446655440000"],
    ],
  ];
  for (const [category, valid, invalid] of cases) {
    it(`${category}: finds the valid ones whole`, () => {
      for (const v of valid) expect(found(`see: ${v} .`), v).toEqual([[category, v]]);
    });
    it(`${category}: does not label the look-alikes as ${category}`, () => {
      for (const v of invalid)
        expect(
          found(`see: ${v} .`).filter(([c]) => c === category),
          v,
        ).toEqual([]);
    });
  }

  it("a BSN needs a word saying so (nine digits pass the 11-test one time in eleven)", () => {
    expect(found("BSN 111222333")).toEqual([["national_id", "111222333"]]);
    expect(found("Bestelling 111222333")).toEqual([]);
    expect(found("BSN 111222334")).toEqual([]);
  });

  it("a connection string's password is the span, not the URL", () => {
    expect(found("postgres://app:s3cr3t-Pa55@db.example.com:5432/main")).toEqual([["secret", "s3cr3t-Pa55"]]);
  });
});

describe("findSpans: offsets, order, overlap", () => {
  it("gives UTF-16 offsets after emoji and accents", () => {
    const text =
      "Grüße 👋🏽 à José: IBAN DE89 3704 0044 0532 0130 00 — mail josé@example.com? no: jose@example.com";
    const spans = findSpans(text);
    expect(spans.map((s) => text.slice(s.start, s.end))).toEqual([
      "DE89 3704 0044 0532 0130 00",
      "jose@example.com",
    ]);
    expect(spans[0]?.start).toBe(text.indexOf("DE89"));
  });

  it("returns sorted, non-overlapping spans; a checksummed reading wins over a phone reading", () => {
    const text = "Tel 0049 4111 1111 1111 1111, card 4111111111111111, ip 10.0.0.1, key AKIAIOSFODNN7EXAMPLE";
    const spans = findSpans(text);
    for (let i = 1; i < spans.length; i++)
      expect(spans[i]?.start).toBeGreaterThanOrEqual(spans[i - 1]?.end as number);
    expect(found("4111111111111111")).toEqual([["payment_card", "4111111111111111"]]);
  });

  it("counts labels per category, only those present", () => {
    expect(
      countLabels(["a@example.com b@example.org", "IBAN DE89370400440532013000", "nothing here"]),
    ).toEqual({
      email: 2,
      iban: 1,
    });
  });

  it("finishes on 100 KB of digits, '@', base64, dots and colons", () => {
    const base64 = "QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVo0NTY3ODkrLw==".repeat(2200).slice(0, 100_000);
    for (const text of [
      "7".repeat(100_000),
      "@".repeat(100_000),
      "a@".repeat(50_000),
      base64,
      "1.".repeat(50_000),
      "1:".repeat(50_000),
      "12 ".repeat(33_000),
      "eyJ".repeat(33_000),
      "-----BEGIN PRIVATE KEY-----".repeat(3_000),
      "x://u:".repeat(16_000),
    ])
      expect(Array.isArray(findSpans(text))).toBe(true);
  });
});

describe("quality on the frozen corpus (regressions fail CI)", () => {
  it("precision and recall ≥ 0.95 on the checksummed categories, exact spans", () => {
    const records = loadCorpus("corpus");
    const s = score(
      records,
      records.map((r) => findSpans(r.text)),
      CATEGORIES,
      "exact",
    );
    for (const c of ["iban", "payment_card", "national_id"]) {
      expect(s[c]?.precision, c).toBeGreaterThanOrEqual(0.95);
      expect(s[c]?.recall, c).toBeGreaterThanOrEqual(0.95);
    }
  });
});
