/**
 * Contact data and network addresses: email addresses, phone numbers, IPv4 and IPv6 addresses.
 * Emails are found around each `@` by bounded scans rather than a regex, so a text made of
 * `@` or of letters costs one pass.
 */
import { isIPv6 } from "node:net";
import { clusterDigits, type DigitRuns, endAt } from "./digit-runs.js";
import type { Span } from "./span.js";

function isLocalChar(c: number): boolean {
  // RFC 5322 dot-atom characters commonly used: letters, digits, . _ % + -
  return (
    (c >= 48 && c <= 57) ||
    (c >= 65 && c <= 90) ||
    (c >= 97 && c <= 122) ||
    c === 46 ||
    c === 95 ||
    c === 37 ||
    c === 43 ||
    c === 45
  );
}
function isDomainChar(c: number): boolean {
  return (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 45 || c === 46;
}

function isTld(text: string, from: number, to: number): boolean {
  if (to - from < 2 || to - from > 24) return false;
  for (let i = from; i < to; i++) {
    const c = text.charCodeAt(i) | 32; // ASCII letters to lower case
    if (c < 97 || c > 122) return false;
  }
  return true;
}
function hasDoubleDot(text: string, from: number, to: number): boolean {
  for (let i = from + 1; i < to; i++)
    if (text.charCodeAt(i) === 46 && text.charCodeAt(i - 1) === 46) return true;
  return false;
}

export function findEmails(text: string, out: Span[]): void {
  let at = text.indexOf("@");
  let floor = 0; // no local part reaches back past the previous address
  while (at >= 0) {
    let s = at;
    while (s > floor && at - s < 64 && isLocalChar(text.charCodeAt(s - 1))) s--;
    while (s < at && text[s] === ".") s++;
    let e = at + 1;
    while (e < text.length && e - at <= 253 && isDomainChar(text.charCodeAt(e))) e++;
    while (e > at + 1 && (text[e - 1] === "." || text[e - 1] === "-")) e--;
    // The domain is text[at + 1, e): a dot after its first character, a top-level domain of 2–24
    // ASCII letters after its last dot, no empty label; read in place.
    let dot = e - 1;
    while (dot > at && text.charCodeAt(dot) !== 46) dot--;
    if (
      s < at &&
      dot > at + 1 &&
      isTld(text, dot + 1, e) &&
      !hasDoubleDot(text, at + 1, e) &&
      text[at - 1] !== "."
    ) {
      out.push({ start: s, end: e, category: "email" });
      floor = e;
    }
    at = text.indexOf("@", Math.max(at + 1, floor));
  }
}

// Octets 0–255 without leading zeros; not inside a longer dotted number.
const OCTET = "(?:25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)";
// Tried, sticky, at each run of one to three digits followed by a dot.
const IPV4_RE = new RegExp(`(?<![\\d.])${OCTET}(?:\\.${OCTET}){3}(?!\\d|\\.\\d)`, "y");

export function findIps(text: string, out: Span[], runs: DigitRuns): void {
  let from = 0;
  for (let r = 0; r < runs.length; r += 2) {
    const start = runs[r] as number;
    const end = runs[r + 1] as number;
    if (start < from || end - start > 3 || text.charCodeAt(end) !== 46 || !fourShortRuns(runs, r)) continue;
    const end4 = endAt(IPV4_RE, text, start);
    if (end4 < 0) continue;
    from = end4;
    out.push({ start, end: from, category: "ip_address" });
  }
  // IPv6: from each colon, the run of hex digits and colons around it (one pass: a run is
  // looked at once), at most four hex digits before its first colon and 43 characters in all,
  // not inside a longer word; node:net decides.
  let at = text.indexOf(":");
  while (at >= 0) {
    let start = at;
    while (start > 0 && isHexOrColon(text.charCodeAt(start - 1))) start--;
    let end = at + 1;
    while (end < text.length && isHexOrColon(text.charCodeAt(end))) end++;
    // The cheap conditions on the text in place; a substring only for node:net.
    if (
      end - start <= 43 &&
      firstColon(text, start, at) - start <= 4 &&
      (start === 0 || !isWordChar(text.charCodeAt(start - 1))) &&
      !isWordChar(text.charCodeAt(end)) &&
      countColons(text, start, end) >= 3 &&
      isIPv6(text.slice(start, end))
    )
      out.push({ start, end, category: "ip_address" });
    at = text.indexOf(":", end);
  }
}
/**
 * Whether runs `r` to `r + 3` have one to three digits each and one character between each two
 * (the caller checked that the first is followed by a dot; the regex checks the others): an
 * address's octets take their runs whole, so anything else (a date, a price, a version) cannot
 * match and is not handed to the regex.
 */
function fourShortRuns(runs: DigitRuns, r: number): boolean {
  if (r + 7 >= runs.length) return false;
  for (let k = r + 2; k <= r + 6; k += 2) {
    const start = runs[k] as number;
    if (start !== (runs[k - 1] as number) + 1 || (runs[k + 1] as number) - start > 3) return false;
  }
  return true;
}
function isHexOrColon(c: number): boolean {
  return (c >= 48 && c <= 58) || (c >= 65 && c <= 70) || (c >= 97 && c <= 102);
}
function isWordChar(c: number): boolean {
  return (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 95;
}
function countColons(text: string, start: number, end: number): number {
  let n = 0;
  for (let i = start; i < end; i++) if (text.charCodeAt(i) === 58) n++;
  return n;
}
/** The first colon at or after `start` (there is one at `at`). */
function firstColon(text: string, start: number, at: number): number {
  for (let i = start; i < at; i++) if (text.charCodeAt(i) === 58) return i;
  return at;
}

// An optional +country code or (area) code, then digit groups joined by one space, dash or
// slash. Each group needs its separator, so a digit run splits one way only.
// Same matches as
// (?<![\w+\-./,])(?:\+\d{1,3}[ -]?)?(?:\(\d{1,5}\)[ -]?)?\d{1,12}(?:[ \-/]\d{1,10}){0,5}(?!…),
// tried, sticky, only where a number of 8 digits or more can start: at a digit run, or at the
// `+` or `(` just before one.
const PHONE_RE =
  /(?:\+(?<![\w+\-./,]\+)\d{1,3}[ -]?(?:\(\d{1,5}\)[ -]?)?\d|\((?<![\w+\-./,]\()\d{1,5}\)[ -]?\d|\d(?<![\w+\-./,]\d))\d{0,11}(?:[ \-/]\d{1,10}){0,5}(?![\w]|[.,/-]\d)/y;
/** Characters a phone number has between its digit groups: space - / ( ). */
const phoneJoin = (c: number): boolean => c === 32 || c === 45 || c === 47 || c === 40 || c === 41;
/** Words that say a number is a phone number (de, fr, es, it, nl, en). */
const PHONE_WORDS =
  "tel|tél|t[eé]l[eé]phone|telefon\\p{L}*|tel[eé]fono|mobile?|cell\\p{L}*|handy|call\\p{L}*|ruf\\p{L}*|appel\\p{L}*|ll[aá]m\\p{L}*|chiam\\p{L}*|bel\\p{L}*|fax|whatsapp";
/** Words that may introduce a phone number or anything else numbered. */
const NUMBER_WORDS = "num[eé]ro|número|nummer|number";
/** Words that say the number is something else: an identifier, account, order, card or code. */
const NOT_PHONE_WORDS =
  "id|iban|konto|account|compte|cuenta|conto|rekening|order|bestell\\p{L}*|commande|pedido|ordine|bestelling|card|kart[ea]|carte|tarjeta|carta|invoice|rechnung|factu\\p{L}*|fattura|ref\\p{L}*|code|codice|c[oó]digo|bsn|nir|dni|nie|steuer\\p{L}*|idnr";
/**
 * Any of those words, not inside a longer word: group 1 a phone word, group 2 a not-phone word,
 * neither a number word. One scan of the window finds them all: every word is letters only, so
 * no word can start inside another's match, and where several could start, a phone word is
 * tried first and is all that matters then.
 */
const CONTEXT_WORDS = new RegExp(
  `(?:^|[^\\p{L}])(?:(${PHONE_WORDS})|(${NOT_PHONE_WORDS})|(?:${NUMBER_WORDS}))(?!\\p{L})`,
  "giu",
);

/**
 * The same words without the character before them, which is checked after a match instead. On
 * a two-byte string (a text with a character past U+00FF: ’, €, …) testing `[^\p{L}]` at every
 * position is slow (~470 ns a window against ~230 this way); on a one-byte string the one regex
 * is faster (~90 against ~170).
 */
const CONTEXT_WORDS_ONLY = new RegExp(
  `(?:(${PHONE_WORDS})|(${NOT_PHONE_WORDS})|(?:${NUMBER_WORDS}))(?!\\p{L})`,
  "giu",
);
/** A letter just before a word (its last code point, a surrogate pair read whole). */
const LETTER_AT_END = /\p{L}$/u;
/** Finds a character past U+00FF; on a one-byte string it fails without reading it. */
const WIDE = /[^\0-\xff]/;

/**
 * What the 24 characters before `at` say: "phone" if a phone word is among them, else "other"
 * if a word for another kind of number is, else "number" if "number" (in some language) is.
 * `wide`: the text has a character past U+00FF.
 */
function phoneContext(text: string, at: number, wide: boolean): "phone" | "number" | "other" | "none" {
  const before = text.slice(Math.max(0, at - 24), at);
  let ctx: "number" | "other" | "none" = "none";
  const re = wide ? CONTEXT_WORDS_ONLY : CONTEXT_WORDS;
  re.lastIndex = 0;
  for (let m = re.exec(before); m !== null; m = re.exec(before)) {
    const q = m.index;
    if (wide && q > 0 && LETTER_AT_END.test(before.slice(Math.max(0, q - 2), q))) {
      re.lastIndex = q + 1; // inside a longer word: as the prefixed regex, which would not match here
      continue;
    }
    if (m[1] !== undefined) return "phone";
    if (m[2] !== undefined) ctx = "other";
    else if (ctx === "none") ctx = "number";
  }
  return ctx;
}

export function findPhones(text: string, out: Span[], runs: DigitRuns): void {
  let from = 0; // matches do not overlap: a search resumes after the previous match
  const wide = WIDE.test(text);
  const tryAt = (at: number): boolean => {
    const end = endAt(PHONE_RE, text, at);
    if (end < 0) return false;
    from = end;
    let digits = 0;
    for (let i = at; i < end; i++) {
      const c = text.charCodeAt(i);
      if (c >= 48 && c <= 57) digits++;
    }
    const first = text.charCodeAt(at);
    const international = first === 43; // +
    const trunk = first === 48 || first === 40; // 0 or (
    if (international ? digits < 8 || digits > 15 : digits < 8 || digits > 13) return true;
    // International form stands on its own; a national-trunk form of 9 or more digits too unless
    // the words before it say it is something else; any other needs a phone word before it.
    if (international) {
      out.push({ start: at, end: from, category: "phone" });
      return true;
    }
    const ctx = phoneContext(text, at, wide);
    if (ctx === "phone" || (ctx !== "other" && (ctx === "number" || (trunk && digits >= 9))))
      out.push({ start: at, end: from, category: "phone" });
    return true;
  };
  for (let r = 0; r < runs.length; r += 2) {
    const start = runs[r] as number;
    if (start < from || clusterDigits(text, runs, r, 8, phoneJoin, 2) < 8) continue;
    const before = text.charCodeAt(start - 1);
    if ((before === 43 || before === 40) && start - 1 >= from && tryAt(start - 1)) continue;
    if (start >= from) tryAt(start);
  }
}
