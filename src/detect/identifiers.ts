/**
 * Checksummed identifiers: IBAN (mod 97), payment cards (Luhn, issuer prefix and length), and
 * national identifiers — DE Steuer-IdNr, FR NIR, ES DNI/NIE, IT codice fiscale, NL BSN. Each
 * regex finds candidates with bounded quantifiers and fixed-width look-arounds (no nested
 * repetition, so no catastrophic backtracking); a checksum then decides.
 */
import { deTaxId, esDniNie, frNir, ibanMod97, itCodiceFiscale, luhn, nlBsn } from "./checksums.js";
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

// Country, check digits, then up to 30 characters, optionally grouped by single spaces.
const IBAN_RE = /[A-Z](?<![A-Za-z0-9][A-Z])[A-Z]\d{2}(?: ?[A-Z0-9]){10,30}/g;

export function findIbans(text: string, out: Span[]): void {
  for (const m of text.matchAll(IBAN_RE)) {
    const raw = m[0];
    const start = m.index;
    const want = IBAN_LENGTH[raw.slice(0, 2)];
    // Walk the candidate, counting alphanumerics, to the country's length (the regex may have
    // run into a following capitalised word).
    let n = 0;
    let compact = "";
    let end = -1;
    for (let i = 0; i < raw.length; i++) {
      if (raw[i] === " ") continue;
      compact += raw[i];
      n++;
      if (want !== undefined ? n === want : n >= 15 && i === raw.length - 1) {
        end = i + 1;
        break;
      }
    }
    if (end < 0) continue;
    const next = text.charCodeAt(start + end);
    if (isAlnum(next)) continue;
    if (ibanMod97(compact)) out.push({ start, end: start + end, category: "iban" });
  }
}

// 12–19 digits, compact or in groups separated by one space or dash. Groups need a separator
// between them, so a digit run splits one way only (no backtracking over groupings).
// The first digit is matched before the look-behind, so the engine can skip to digits quickly.
const CARD_RE = /\d(?<![\w+\-.,/]\d)\d{0,18}(?:[ -]\d{1,7}){0,6}(?![\d,]|[.-]\d)/g;

function cardIssuerFits(d: string): boolean {
  const n = d.length;
  const p2 = Number(d.slice(0, 2));
  const p4 = Number(d.slice(0, 4));
  if (d[0] === "4") return n === 13 || n === 16 || n === 19; // Visa
  if ((p2 >= 51 && p2 <= 55) || (p4 >= 2221 && p4 <= 2720)) return n === 16; // Mastercard
  if (p2 === 34 || p2 === 37) return n === 15; // American Express
  if (p2 === 36 || p2 === 38 || p2 === 39 || (p4 >= 3000 && p4 <= 3059) || p4 === 3095)
    return n >= 14 && n <= 19; // Diners
  if (p4 >= 3528 && p4 <= 3589) return n >= 16 && n <= 19; // JCB
  if (p4 === 6011 || p2 === 65 || (p4 >= 6440 && p4 <= 6499) || (d.startsWith("622") && n === 16))
    return n >= 16 && n <= 19; // Discover / UnionPay
  if (p2 === 62) return n >= 16 && n <= 19; // UnionPay
  if (d[0] === "5" || d[0] === "6") return n >= 12 && n <= 19; // Maestro
  return false;
}

export function findCards(text: string, out: Span[]): void {
  for (const m of text.matchAll(CARD_RE)) {
    const raw = m[0];
    if (raw.length < 12) continue; // fewer than 12 digits: most numbers in a text
    const seps = raw.replace(/\d/g, "");
    if (seps.length > 0 && !/^( +|-+)$/.test(seps)) continue; // mixed separators: not a card
    const d = raw.replace(/\D/g, "");
    if (d.length < 12 || d.length > 19) continue;
    if (cardIssuerFits(d) && luhn(d))
      out.push({ start: m.index, end: m.index + raw.length, category: "payment_card" });
  }
}

// Each pattern matches its first character before the look-behind that checks the character in
// front of it (the same condition): the engine then skips to candidate characters quickly
// instead of running the look-behind at every position.
const DE_TAX_RE = /[1-9](?<![\d.,\-+/][1-9])\d{10}(?![\d]|[.,-]\d)/g;
const FR_NIR_RE =
  /(?<![\dA-Za-z])[12] ?\d\d ?(?:0[1-9]|1[0-2]|[2-9]\d) ?(?:\d\d|2[AB]) ?\d{3} ?\d{3} ?\d\d(?![\dA-Za-z])/g;
const ES_RE = /(?:\d(?<![\dA-Za-z]\d)\d{7}|[XYZ](?<![\dA-Za-z][XYZ])-?\d{7})-?[A-Z](?![\dA-Za-z])/g;
const IT_CF_RE =
  /[A-Z](?<![\dA-Za-z][A-Z])[A-Z]{5}[\dLMNPQRSTUV]{2}[ABCDEHLMPRST][\dLMNPQRSTUV]{2}[A-Z][\dLMNPQRSTUV]{3}[A-Z](?![\dA-Za-z])/g;
const NL_BSN_RE = /\d(?<![\d.,\-+/]\d)\d{8}(?![\d]|[.,-]\d)/g;
/** A BSN is nine bare digits, 1 in 11 of which pass the 11-test: it needs a word saying so. */
const BSN_CONTEXT =
  /\b(?:bsn|burgerservicenummer|sofi-?nummer|national id|id number|identifier|identificat\w*)\b/i;

export function findNationalIds(text: string, out: Span[]): void {
  const push = (start: number, len: number): void => {
    out.push({ start, end: start + len, category: "national_id" });
  };
  for (const m of text.matchAll(DE_TAX_RE)) if (deTaxId(m[0])) push(m.index, m[0].length);
  for (const m of text.matchAll(FR_NIR_RE)) if (frNir(m[0].replace(/ /g, ""))) push(m.index, m[0].length);
  for (const m of text.matchAll(ES_RE)) if (esDniNie(m[0].replace(/-/g, ""))) push(m.index, m[0].length);
  // The check letter is computed on the code as written, omocodia letters included.
  for (const m of text.matchAll(IT_CF_RE)) if (itCodiceFiscale(m[0])) push(m.index, m[0].length);
  for (const m of text.matchAll(NL_BSN_RE))
    if (nlBsn(m[0]) && hasContext(text, m.index, BSN_CONTEXT)) push(m.index, m[0].length);
}

function isAlnum(c: number): boolean {
  return (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122);
}
