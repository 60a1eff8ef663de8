/**
 * Checksummed identifiers: IBAN (mod 97), payment cards (Luhn, issuer prefix and length), and
 * national identifiers — DE Steuer-IdNr, FR NIR, ES DNI/NIE, IT codice fiscale, NL BSN. Each
 * regex finds candidates with bounded quantifiers and fixed-width look-arounds (no nested
 * repetition, so no catastrophic backtracking); a checksum then decides.
 */
import { deTaxId, esDniNie, frNir, ibanMod97At, itCodiceFiscaleAt, luhnAt, nlBsn } from "./checksums.js";
import { clusterDigits, type DigitRuns, endAt } from "./digit-runs.js";
import { hasContext, type Span } from "./span.js";

// ISO 13616 registry: IBAN length by country.
const IBAN_LENGTH: Record<string, number> = {
  AD: 24,
  AE: 23,
  AL: 28,
  AT: 20,
  AZ: 28,
  BA: 20,
  BE: 16,
  BG: 22,
  BH: 22,
  BI: 27,
  BR: 29,
  BY: 28,
  CH: 21,
  CR: 22,
  CY: 28,
  CZ: 24,
  DE: 22,
  DJ: 27,
  DK: 18,
  DO: 28,
  EE: 20,
  EG: 29,
  ES: 24,
  FI: 18,
  FK: 18,
  FO: 18,
  FR: 27,
  GB: 22,
  GE: 22,
  GI: 23,
  GL: 18,
  GR: 27,
  GT: 28,
  HR: 21,
  HU: 28,
  IE: 22,
  IL: 23,
  IQ: 23,
  IS: 26,
  IT: 27,
  JO: 30,
  KW: 30,
  KZ: 20,
  LB: 28,
  LC: 32,
  LI: 21,
  LT: 20,
  LU: 20,
  LV: 21,
  LY: 25,
  MC: 27,
  MD: 24,
  ME: 22,
  MK: 19,
  MN: 20,
  MR: 27,
  MT: 31,
  MU: 30,
  NI: 28,
  NL: 18,
  NO: 15,
  OM: 23,
  PK: 24,
  PL: 28,
  PS: 29,
  PT: 25,
  QA: 29,
  RO: 24,
  RS: 22,
  RU: 33,
  SA: 24,
  SC: 31,
  SD: 18,
  SE: 24,
  SI: 19,
  SK: 24,
  SM: 27,
  SO: 23,
  ST: 25,
  SV: 28,
  TL: 23,
  TN: 24,
  TR: 26,
  UA: 29,
  VA: 22,
  VG: 24,
  XK: 20,
  YE: 30,
};

/** IBAN_LENGTH as a table indexed by the two capitals (0: no such country), read without a substring. */
const IBAN_LENGTH_BY_CODE = new Uint8Array(26 * 26);
for (const [cc, n] of Object.entries(IBAN_LENGTH))
  IBAN_LENGTH_BY_CODE[(cc.charCodeAt(0) - 65) * 26 + cc.charCodeAt(1) - 65] = n;
/** The registry length for country letters `a`, `b` (both A–Z), or undefined. */
function ibanLength(a: number, b: number): number | undefined {
  return IBAN_LENGTH_BY_CODE[(a - 65) * 26 + b - 65] || undefined;
}

// Country, check digits, then up to 30 characters, optionally grouped by single spaces. Tried
// only two letters before a digit run (the check digits start one), sticky.
const IBAN_RE = /[A-Z](?<![A-Za-z0-9][A-Z])[A-Z]\d{2}(?: ?[A-Z0-9]){10,30}/y;

export function findIbans(text: string, out: Span[], runs: DigitRuns): void {
  let from = 0; // matches do not overlap: a search resumes after the previous match
  for (let r = 0; r < runs.length; r += 2) {
    const start = (runs[r] as number) - 2;
    if (start < from || (runs[r + 1] as number) - start < 4) continue;
    if (!isUpper(text.charCodeAt(start)) || !isUpper(text.charCodeAt(start + 1))) continue;
    const matchEnd = endAt(IBAN_RE, text, start);
    if (matchEnd < 0) continue;
    from = matchEnd;
    const want = ibanLength(text.charCodeAt(start), text.charCodeAt(start + 1));
    // Walk the candidate, counting alphanumerics, to the country's length (the regex may have
    // run into a following capitalised word).
    let n = 0;
    let end = -1;
    for (let i = start; i < matchEnd; i++) {
      if (text.charCodeAt(i) === 32) continue;
      n++;
      if (want !== undefined ? n === want : n >= 15 && i === matchEnd - 1) {
        end = i + 1;
        break;
      }
    }
    if (end < 0 || isAlnum(text.charCodeAt(end))) continue;
    if (ibanMod97At(text, start, end)) out.push({ start, end, category: "iban" });
  }
}

// 12–19 digits, compact or in groups separated by one space or dash. Groups need a separator
// between them, so a digit run splits one way only (no backtracking over groupings).
// Tried, sticky, at the start of each digit run whose group holds 12 digits or more.
const CARD_RE = /\d(?<![\w+\-.,/]\d)\d{0,18}(?:[ -]\d{1,7}){0,6}(?![\d,]|[.-]\d)/y;
const cardJoin = (c: number): boolean => c === 32 || c === 45;
/** The pattern's look-behind: a card does not follow a word character or + - . , / */
const cardMayFollow = (c: number): boolean =>
  !(isAlnum(c) || c === 95 || c === 43 || c === 45 || c === 46 || c === 44 || c === 47);

/** Issuer prefix and length: `p2`, `p4` are the first two and four digits, `n` the digit count. */
function cardIssuerFits(p2: number, p4: number, n: number): boolean {
  const first = (p2 / 10) | 0;
  if (first === 4) return n === 13 || n === 16 || n === 19; // Visa
  if ((p2 >= 51 && p2 <= 55) || (p4 >= 2221 && p4 <= 2720)) return n === 16; // Mastercard
  if (p2 === 34 || p2 === 37) return n === 15; // American Express
  if (p2 === 36 || p2 === 38 || p2 === 39 || (p4 >= 3000 && p4 <= 3059) || p4 === 3095)
    return n >= 14 && n <= 19; // Diners
  if (p4 >= 3528 && p4 <= 3589) return n >= 16 && n <= 19; // JCB
  if (p4 === 6011 || p2 === 65 || (p4 >= 6440 && p4 <= 6499) || (((p4 / 10) | 0) === 622 && n === 16))
    return n >= 16 && n <= 19; // Discover / UnionPay
  if (p2 === 62) return n >= 16 && n <= 19; // UnionPay
  if (first === 5 || first === 6) return n >= 12 && n <= 19; // Maestro
  return false;
}

export function findCards(text: string, out: Span[], runs: DigitRuns): void {
  let from = 0;
  for (let r = 0; r < runs.length; r += 2) {
    const start = runs[r] as number;
    if (start < from || (start > 0 && !cardMayFollow(text.charCodeAt(start - 1)))) continue;
    if (clusterDigits(text, runs, r, 12, cardJoin, 1) < 12) continue;
    const end = endAt(CARD_RE, text, start);
    if (end < 0) continue;
    from = end;
    // 12–19 digits, in one group or groups joined all by spaces or all by dashes.
    let digits = 0;
    let sep = 0;
    let mixed = false;
    for (let i = start; i < end; i++) {
      const c = text.charCodeAt(i);
      if (c >= 48 && c <= 57) digits++;
      else if (sep === 0) sep = c;
      else mixed ||= c !== sep;
    }
    if (mixed || digits < 12 || digits > 19) continue;
    // The first four digits (the regex starts the match with at least one, groups of ≥ 1).
    let p4 = 0;
    for (let i = start, k = 0; k < 4; i++) {
      const c = text.charCodeAt(i);
      if (c >= 48 && c <= 57) {
        p4 = p4 * 10 + c - 48;
        k++;
      }
    }
    if (cardIssuerFits((p4 / 100) | 0, p4, digits) && luhnAt(text, start, end))
      out.push({ start, end: from, category: "payment_card" });
  }
}

// Each pattern is tried, sticky, where it can start: at a digit run of the right length (a run
// of 11 digits for the DE tax id, 9 for a BSN, 8 for a DNI, 7 after X, Y or Z for a NIE), or one
// starting with 1 or 2 whose groups hold the 14 digits or more of a NIR.
const DE_TAX_RE = /[1-9](?<![\d.,\-+/][1-9])\d{10}(?![\d]|[.,-]\d)/y;
const FR_NIR_RE =
  /(?<![\dA-Za-z])[12] ?\d\d ?(?:0[1-9]|1[0-2]|[2-9]\d) ?(?:\d\d|2[AB]) ?\d{3} ?\d{3} ?\d\d(?![\dA-Za-z])/y;
const ES_RE = /(?:\d(?<![\dA-Za-z]\d)\d{7}|[XYZ](?<![\dA-Za-z][XYZ])-?\d{7})-?[A-Z](?![\dA-Za-z])/y;
const IT_CF_RE =
  /[A-Z](?<![\dA-Za-z][A-Z])[A-Z]{5}[\dLMNPQRSTUV]{2}[ABCDEHLMPRST][\dLMNPQRSTUV]{2}[A-Z][\dLMNPQRSTUV]{3}[A-Z](?![\dA-Za-z])/g;
/** Between a NIR's digit groups: spaces, and the A or B of a Corsican department. */
const nirJoin = (c: number): boolean => c === 32 || c === 65 || c === 66;
const NL_BSN_RE = /\d(?<![\d.,\-+/]\d)\d{8}(?![\d]|[.,-]\d)/y;
/** A BSN is nine bare digits, 1 in 11 of which pass the 11-test: it needs a word saying so. */
const BSN_CONTEXT =
  /\b(?:bsn|burgerservicenummer|sofi-?nummer|national id|id number|identifier|identificat\w*)\b/i;

/** Pushes the match of the sticky `re` at `at` when `valid` accepts it (the match as written). */
function tryId(
  text: string,
  out: Span[],
  re: RegExp,
  at: number,
  valid: (id: string, at: number, text: string) => boolean,
): void {
  const end = endAt(re, text, at);
  if (end >= 0 && valid(text.slice(at, end), at, text)) out.push({ start: at, end, category: "national_id" });
}
const bsnInContext = (id: string, at: number, text: string): boolean =>
  nlBsn(id) && hasContext(text, at, BSN_CONTEXT);

export function findNationalIds(text: string, out: Span[], runs: DigitRuns): void {
  let nirFrom = 0; // NIRs span several runs; a search resumes after the previous match
  for (let r = 0; r < runs.length; r += 2) {
    const start = runs[r] as number;
    const len = (runs[r + 1] as number) - start;
    if (len === 11) tryId(text, out, DE_TAX_RE, start, deTaxId);
    else if (len === 9) tryId(text, out, NL_BSN_RE, start, bsnInContext);
    else if (len === 8) tryId(text, out, ES_RE, start, esId);
    else if (len === 7) {
      const nie = text.charCodeAt(start - 1) === 45 ? start - 2 : start - 1;
      if (isXyz(text.charCodeAt(nie))) tryId(text, out, ES_RE, nie, esId);
    }
    const first = text.charCodeAt(start);
    if (start < nirFrom || (first !== 49 && first !== 50)) continue;
    if (clusterDigits(text, runs, r, 14, nirJoin, 2) < 14) continue;
    const nirEnd = endAt(FR_NIR_RE, text, start);
    if (nirEnd < 0) continue;
    nirFrom = nirEnd;
    if (frNir(text.slice(start, nirEnd).replace(/ /g, "")))
      out.push({ start, end: nirEnd, category: "national_id" });
  }
  // The check letter is computed on the code as written, omocodia letters included.
  IT_CF_RE.lastIndex = 0;
  for (let end = endOfNext(IT_CF_RE, text); end >= 0; end = endOfNext(IT_CF_RE, text))
    if (itCodiceFiscaleAt(text, end - 16)) out.push({ start: end - 16, end, category: "national_id" });
}

/** Where the next match of the global `re` ends (from its lastIndex), or -1; no result array. */
function endOfNext(re: RegExp, text: string): number {
  return re.test(text) ? re.lastIndex : -1;
}

const esId = (id: string): boolean => esDniNie(id.replace(/-/g, ""));
function isXyz(c: number): boolean {
  return c === 88 || c === 89 || c === 90;
}
function isUpper(c: number): boolean {
  return c >= 65 && c <= 90;
}
function isAlnum(c: number): boolean {
  return (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122);
}
