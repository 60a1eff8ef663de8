/** What a detector reports: a category and where, never the matched text. */
export type Category = "email" | "phone" | "iban" | "payment_card" | "national_id" | "ip_address" | "secret";

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

/**
 * Runs a global regex over `text`, calling `found` for each match whose preceding character
 * passes `boundary`. The boundary is checked here rather than as a regex look-behind: a regex
 * that starts with literal characters lets V8 skip ahead to candidates, a look-behind does not.
 * A rejected match resumes one character later, as a look-behind would.
 */
export function scan(
  re: RegExp,
  text: string,
  boundary: (prev: number) => boolean,
  found: (m: RegExpExecArray) => void,
): void {
  re.lastIndex = 0;
  for (let m = re.exec(text); m !== null; m = re.exec(text)) {
    if (m.index > 0 && !boundary(text.charCodeAt(m.index - 1))) {
      re.lastIndex = m.index + 1;
      continue;
    }
    found(m);
  }
}

/** Character classes for `scan` boundaries. */
export const isDigit = (c: number): boolean => c >= 48 && c <= 57;
export const isAlnum = (c: number): boolean => isDigit(c) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122);
/** Letters, digits and `_` (regex `\w`). */
export const isWord = (c: number): boolean => isAlnum(c) || c === 95;
