/**
 * A small real content detector for tests (issue 16), implementing routing's
 * `ContentDetector` seam: e-mail addresses, IBANs (ISO 13616 mod-97 checked, spaces allowed
 * in groups of four) and API-key-shaped secrets (`sk-…`, `AKIA…`). Not the shipped detectors
 * (src/detect): enough to drive the policy, the obligations and the privacy tests with the
 * real code paths.
 */
import type { ContentDetector } from "../../src/routing/index.js";

type Span = { start: number; end: number; category: string };

const PATTERNS: readonly { category: string; re: RegExp; valid?: (m: string) => boolean }[] = [
  { category: "email", re: /[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}/g },
  {
    category: "iban",
    re: /\b[A-Z]{2}[0-9]{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,3})?\b/g,
    valid: ibanValid,
  },
  { category: "secret", re: /\b(?:sk-[A-Za-z0-9_-]{20,}|AKIA[0-9A-Z]{16})\b/g },
];

/** ISO 13616: move the first four characters to the end, letters → 10..35, mod 97 = 1. */
export function ibanValid(s: string): boolean {
  const iban = s.replace(/ /g, "");
  if (iban.length < 15 || iban.length > 34) return false;
  let rem = 0;
  for (const ch of iban.slice(4) + iban.slice(0, 4)) {
    const v = /[0-9]/.test(ch) ? ch : String(ch.charCodeAt(0) - 55);
    for (const d of v) rem = (rem * 10 + Number(d)) % 97;
  }
  return rem === 1;
}

export const testDetector: ContentDetector = {
  version: "test-detect/1",
  findSpans(text: string): Span[] {
    const spans: Span[] = [];
    for (const { category, re, valid } of PATTERNS)
      for (const m of text.matchAll(re))
        if (!valid || valid(m[0])) spans.push({ start: m.index, end: m.index + m[0].length, category });
    spans.sort((a, b) => a.start - b.start || b.end - a.end);
    // Sorted and non-overlapping, as the seam promises: the first (longest) span wins.
    const out: Span[] = [];
    for (const s of spans) if (out.length === 0 || s.start >= out[out.length - 1]!.end) out.push(s);
    return out;
  },
};
