/**
 * The digit runs of a text, found by one pass and shared by every numeric detector. A card,
 * phone or national number begins at the start of a run or a character or two before one (an
 * IBAN's country code, a phone's `+` or `(`), so those detectors try their pattern only there, as
 * a sticky regex, instead of letting the engine test every digit of a text full of numbers.
 */

/** Flat `[start, end, start, end, …]` UTF-16 offsets of each maximal run of ASCII digits. */
export type DigitRuns = Readonly<Int32Array>;

/**
 * Entries (two a run) of the buffer reused across calls: 1,024 runs, some 12 KB of text full of
 * numbers; a text with more gets a larger buffer for that call only.
 */
const KEPT = 1 << 11;
const scratch = new Int32Array(KEPT);

/**
 * The digit runs of `text`. The result is a view of a buffer the next call reuses (no array
 * grown per call on the request path): read it before calling again, keep no reference.
 */
export function digitRuns(text: string): DigitRuns {
  // One loop over the characters (on the flat strings a request's JSON parser makes, faster
  // than a /\d+/g search, which pays a call per run: a 1 KB prompt full of numbers has ~80).
  let buf = scratch; // a long text's larger buffer is used for that call only
  let n = 0;
  const len = text.length;
  let i = 0;
  for (;;) {
    while (i < len && (text.charCodeAt(i) - 48) >>> 0 > 9) i++;
    if (i >= len) break;
    const start = i;
    i++;
    while (i < len && (text.charCodeAt(i) - 48) >>> 0 <= 9) i++;
    if (n + 2 > buf.length) {
      const bigger = new Int32Array(buf.length * 2);
      bigger.set(buf);
      buf = bigger;
    }
    buf[n++] = start;
    buf[n++] = i;
  }
  return buf.subarray(0, n);
}

/**
 * The digits a number starting at run `r` can hold: the run and the runs after it while the
 * characters between two runs all pass `joins` (at most `maxGap` of them), counted up to `need`.
 * A detector's pattern matches only digits and such joining characters, so fewer than `need`
 * here means no match from this run can have enough digits.
 */
export function clusterDigits(
  text: string,
  runs: DigitRuns,
  r: number,
  need: number,
  joins: (c: number) => boolean,
  maxGap: number,
): number {
  let digits = 0;
  for (let j = r; j < runs.length; j += 2) {
    digits += (runs[j + 1] as number) - (runs[j] as number);
    if (digits >= need || j + 2 >= runs.length) return digits;
    const from = runs[j + 1] as number;
    const to = runs[j + 2] as number;
    if (to - from > maxGap) return digits;
    for (let k = from; k < to; k++) if (!joins(text.charCodeAt(k))) return digits;
  }
  return digits;
}

/** Runs the sticky regex `re` at `at`: the match starting exactly there, or null. */
export function matchAt(re: RegExp, text: string, at: number): RegExpExecArray | null {
  re.lastIndex = at;
  return re.exec(text);
}

/** Where the match of the sticky regex `re` starting at `at` ends, or -1 (no result array made). */
export function endAt(re: RegExp, text: string, at: number): number {
  re.lastIndex = at;
  return re.test(text) ? re.lastIndex : -1;
}
