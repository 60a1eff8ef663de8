/** What a detector reports: a category and where, never the matched text. */
export type Category =
  | "email"
  | "phone"
  | "iban"
  | "payment_card"
  | "national_id"
  | "ip_address"
  | "secret";

/** Every category, in the order a conflict is settled: an earlier one wins an overlap. */
export const CATEGORIES: readonly Category[] = [
  "secret",
  "iban",
  "payment_card",
  "national_id",
  "email",
  "ip_address",
  "phone",
];

/** A labelled span: UTF-16 offsets into the scanned string, `end` exclusive. */
export interface Span {
  start: number;
  end: number;
  category: Category;
}

/** True when a keyword of `words` ends within `window` characters before `at`. */
export function hasContext(text: string, at: number, words: RegExp, window = 40): boolean {
  return words.test(text.slice(Math.max(0, at - window), at));
}
