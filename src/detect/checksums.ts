/**
 * Checksums of the identifiers src/detect labels. Each takes the compact form (no spaces or
 * dashes), or for the `…At` ones the range of the text where the candidate is (read in place,
 * no substring made), and says whether it is valid; none throws, none echoes its input.
 */

/** Luhn (ISO/IEC 7812-1), payment card numbers: the digits of `text[start, end)`, others skipped. */
export function luhnAt(text: string, start: number, end: number): boolean {
  let sum = 0;
  let odd = false; // every second digit from the right is doubled
  for (let i = end - 1; i >= start; i--) {
    const c = text.charCodeAt(i);
    if (c < 48 || c > 57) continue;
    let d = c - 48;
    if (odd) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
    odd = !odd;
  }
  return sum % 10 === 0;
}

/**
 * ISO 13616 IBAN check of `text[start, end)`, spaces left out: the first four characters move to
 * the end, letters count as 10..35, and the number mod 97 must be 1.
 */
export function ibanMod97At(text: string, start: number, end: number): boolean {
  let rem = 0;
  let n = 0;
  let head = -1; // where the fifth non-space character is: the rest starts there
  for (let i = start; i < end && head < 0; i++) {
    if (text.charCodeAt(i) === 32) continue;
    if (++n === 4) head = i + 1;
  }
  if (head < 0) return false;
  for (let pass = 0; pass < 2; pass++) {
    const from = pass === 0 ? head : start;
    const to = pass === 0 ? end : head;
    for (let i = from; i < to; i++) {
      const c = text.charCodeAt(i);
      if (c >= 48 && c <= 57) rem = (rem * 10 + (c - 48)) % 97;
      else if (c >= 65 && c <= 90) rem = (rem * 100 + (c - 55)) % 97;
      else if (c !== 32) return false;
    }
  }
  return rem === 1;
}

/**
 * DE Steuerliche Identifikationsnummer (§ 139b AO): 11 digits, the first not 0; among the
 * first ten exactly one digit occurs twice or three times, the others at most once; the last is
 * an ISO 7064 MOD 11,10 check digit.
 */
export function deTaxId(d: string): boolean {
  if (d.length !== 11 || d[0] === "0") return false;
  const counts = new Array<number>(10).fill(0);
  for (let i = 0; i < 10; i++) counts[d.charCodeAt(i) - 48] = (counts[d.charCodeAt(i) - 48] ?? 0) + 1;
  let repeated = 0;
  for (const c of counts) {
    if (c > 3) return false;
    if (c > 1) repeated++;
  }
  if (repeated !== 1) return false;
  let product = 10;
  for (let i = 0; i < 10; i++) {
    let sum = (d.charCodeAt(i) - 48 + product) % 10;
    if (sum === 0) sum = 10;
    product = (sum * 2) % 11;
  }
  const check = 11 - product === 10 ? 0 : 11 - product;
  return check === d.charCodeAt(10) - 48;
}

/** FR NIR: 13 characters (Corsica 2A/2B read as 19/18) and a key 97 - (number mod 97). */
export function frNir(s: string): boolean {
  if (s.length !== 15) return false;
  const body = s.slice(0, 13).replace("2A", "19").replace("2B", "18");
  if (!/^\d{13}$/.test(body)) return false;
  let rem = 0;
  for (let i = 0; i < 13; i++) rem = (rem * 10 + (body.charCodeAt(i) - 48)) % 97;
  return 97 - rem === Number(s.slice(13));
}

const DNI_LETTERS = "TRWAGMYFPDXBNJZSQVHLCKE";
/** ES DNI (8 digits + letter) and NIE (X/Y/Z + 7 digits + letter): letter = table[n mod 23]. */
export function esDniNie(s: string): boolean {
  const first = "XYZ".indexOf(s[0] as string);
  const num = first >= 0 ? String(first) + s.slice(1, 8) : s.slice(0, 8);
  return DNI_LETTERS[Number(num) % 23] === s[8];
}

// Odd-position values of the codice fiscale check (DM 23/12/1976), indexed by letter (A = 0) or
// digit value (digit n counts like the n-th letter).
const CF_ODD = [1, 0, 5, 7, 9, 13, 15, 17, 19, 21, 2, 4, 18, 20, 11, 3, 6, 8, 12, 14, 16, 10, 22, 25, 24, 23];
/** IT codice fiscale at `text[at, at + 16)`: 15 characters and a check letter (read in place). */
export function itCodiceFiscaleAt(text: string, at: number): boolean {
  let sum = 0;
  for (let i = 0; i < 15; i++) {
    const c = text.charCodeAt(at + i);
    const v = c <= 57 ? c - 48 : c - 65; // digit or letter index
    sum += i % 2 === 0 ? (CF_ODD[v] as number) : v;
  }
  return 65 + (sum % 26) === text.charCodeAt(at + 15);
}

/** NL BSN: nine digits, Σ d_i·(9−i) for the first eight minus the ninth ≡ 0 (mod 11). */
export function nlBsn(d: string): boolean {
  if (d.length !== 9) return false;
  let sum = 0;
  for (let i = 0; i < 8; i++) sum += (d.charCodeAt(i) - 48) * (9 - i);
  sum -= d.charCodeAt(8) - 48;
  return sum % 11 === 0 && sum !== 0;
}
