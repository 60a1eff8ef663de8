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

type Detector = (text: string, out: Span[], runs: DigitRuns) => void;
const DETECTOR_OF: Record<Category, Detector> = {
  secret: findSecrets,
  iban: findIbans,
  payment_card: findCards,
  national_id: findNationalIds,
  email: findEmails,
  ip_address: findIps,
  phone: findPhones,
};
/** The detectors in CATEGORIES order (the order conflicts are settled in). */
const DETECTORS: readonly Detector[] = CATEGORIES.map((c) => DETECTOR_OF[c]);

/**
 * The labelled spans of `text`: UTF-16 offsets, sorted by start, non-overlapping.
 *
 * @example findSpans("IBAN DE89 3704 0044 0532 0130 00") // [{ start: 5, end: 32, category: "iban" }]
 */
export function findSpans(text: string): Span[] {
  const accepted: Span[] = []; // sorted by start, non-overlapping
  const found: Span[] = []; // one array for every category's candidates, reused
  const runs = digitRuns(text);
  for (const detect of DETECTORS) {
    found.length = 0;
    detect(text, found, runs);
    if (found.length === 0) continue;
    if (found.length > 1) sortByStartThenLongest(found);
    // Within a category the earliest (then longest) span wins; a span of an earlier category
    // wins over any of this one. A kept span goes straight into `accepted`: a later candidate of
    // the same category that starts after the last kept one's end overlaps none of them.
    let lastEnd = -1;
    for (const s of found) {
      if (s.start < lastEnd) continue;
      const i = lowerBound(accepted, s.start);
      const next = accepted[i];
      const prev = accepted[i - 1];
      if ((next !== undefined && next.start < s.end) || (prev !== undefined && prev.end > s.start)) continue;
      if (i === accepted.length) accepted.push(s);
      else accepted.splice(i, 0, s);
      lastEnd = s.end;
    }
  }
  return accepted;
}

/**
 * Sorts by start, then longest first, stably (a detector's candidates come mostly in order and
 * are few: an insertion sort, no comparator calls or work array).
 */
function sortByStartThenLongest(spans: Span[]): void {
  for (let i = 1; i < spans.length; i++) {
    const s = spans[i] as Span;
    let j = i - 1;
    for (; j >= 0; j--) {
      const t = spans[j] as Span;
      if (t.start < s.start || (t.start === s.start && t.end >= s.end)) break;
      spans[j + 1] = t;
    }
    spans[j + 1] = s;
  }
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
