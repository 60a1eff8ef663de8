/**
 * `findSpans`: every detector over one string, conflicts settled by category order (a secret or
 * a checksummed identifier wins over a phone-shaped reading of the same digits), the result
 * sorted and non-overlapping. `countLabels` turns texts into counts per category.
 */
import { findEmails, findIps, findPhones } from "./contact.js";
import { type DigitRuns, digitRuns } from "./digit-runs.js";
import { findCards, findIbans, findNationalIds } from "./identifiers.js";
import { findSecrets } from "./secrets.js";
import { CATEGORIES, type Category, type Span } from "./span.js";

/** Names the rule set; a record carries it so a label can be traced to the rules that made it. */
export const DETECTOR_VERSION = "sovr-detect/1";

const DETECTORS: Record<Category, (text: string, out: Span[], runs: DigitRuns) => void> = {
  secret: findSecrets,
  iban: findIbans,
  payment_card: findCards,
  national_id: findNationalIds,
  email: findEmails,
  ip_address: findIps,
  phone: findPhones,
};

/**
 * The labelled spans of `text`: UTF-16 offsets, sorted by start, non-overlapping.
 *
 * @example findSpans("IBAN DE89 3704 0044 0532 0130 00") // [{ start: 5, end: 32, category: "iban" }]
 */
export function findSpans(text: string): Span[] {
  let accepted: Span[] = []; // sorted by start, non-overlapping
  const runs = digitRuns(text);
  for (const category of CATEGORIES) {
    const found: Span[] = [];
    DETECTORS[category](text, found, runs);
    if (found.length === 0) continue;
    found.sort((a, b) => a.start - b.start || b.end - a.end);
    const kept: Span[] = [];
    for (const s of found) {
      const last = kept[kept.length - 1];
      if ((last === undefined || last.end <= s.start) && !overlaps(accepted, s)) kept.push(s);
    }
    accepted = merge(accepted, kept);
  }
  return accepted;
}

/**
 * Label counts over `texts`. Only categories that occur have a key (typed as the full record
 * for callers that index it; an absent key means zero).
 */
export function countLabels(texts: Iterable<string>): Record<Category, number> {
  const counts: Partial<Record<Category, number>> = {};
  for (const t of texts) for (const s of findSpans(t)) counts[s.category] = (counts[s.category] ?? 0) + 1;
  return counts as Record<Category, number>;
}

/** Index of the first span whose start is ≥ `at`. */
function lowerBound(spans: Span[], at: number): number {
  let lo = 0;
  let hi = spans.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if ((spans[mid] as Span).start < at) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
function overlaps(spans: Span[], s: Span): boolean {
  const i = lowerBound(spans, s.start);
  const next = spans[i];
  const prev = spans[i - 1];
  return (next !== undefined && next.start < s.end) || (prev !== undefined && prev.end > s.start);
}
function merge(a: Span[], b: Span[]): Span[] {
  if (a.length === 0) return b;
  const out: Span[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    const x = a[i];
    const y = b[j];
    if (y === undefined || (x !== undefined && x.start < y.start)) {
      out.push(x as Span);
      i++;
    } else {
      out.push(y);
      j++;
    }
  }
  return out;
}
