/**
 * Value makers for the labelled detector corpus (bench/detect/generate-corpus.ts): national
 * identifiers with their checksums, secrets in their published formats, and hard negatives
 * (the same shapes with a failing checksum, UUIDs, hashes, prices, dates, order numbers).
 *
 * Written independently of src/detect on purpose: the corpus must not inherit a detector bug.
 * All randomness comes from the faker instance passed in, so one seed fixes the whole corpus.
 */
import type { Faker } from "@faker-js/faker";

const DIGITS = "0123456789";
const UPPER = "ABCDEFGHIJKLMNOPQRSTUVWXYZ";
const ALNUM = `${UPPER}abcdefghijklmnopqrstuvwxyz${DIGITS}`;
const B64 = `${ALNUM}+/`;
const B64URL = `${ALNUM}-_`;

export function pick<T>(f: Faker, xs: readonly T[]): T {
  return xs[f.number.int({ min: 0, max: xs.length - 1 })] as T;
}
export function chars(f: Faker, alphabet: string, n: number): string {
  let s = "";
  for (let i = 0; i < n; i++) s += alphabet[f.number.int({ min: 0, max: alphabet.length - 1 })];
  return s;
}
function digits(f: Faker, n: number): string {
  return chars(f, DIGITS, n);
}
/** Replaces the digit at `i` with a different digit. */
function alterDigit(f: Faker, s: string, i: number): string {
  const d = Number(s[i]);
  const nd = (d + f.number.int({ min: 1, max: 9 })) % 10;
  return s.slice(0, i) + String(nd) + s.slice(i + 1);
}

// ---- national identifiers ----------------------------------------------------------------

/** DE Steuerliche Identifikationsnummer: ISO 7064 MOD 11,10 check digit; one digit repeated. */
function deTaxCheck(ten: string): number {
  let product = 10;
  for (const c of ten) {
    let sum = (Number(c) + product) % 10;
    if (sum === 0) sum = 10;
    product = (sum * 2) % 11;
  }
  const check = 11 - product;
  return check === 10 ? 0 : check;
}
export function deTaxId(f: Faker): string {
  // 10 digits, first non-zero, exactly one digit twice and the rest distinct (one digit missing).
  const pool = f.helpers.shuffle([...DIGITS]);
  const chosen = pool.slice(0, 9);
  const doubled = pick(f, chosen);
  let ten = f.helpers.shuffle([...chosen, doubled]).join("");
  if (ten[0] === "0") ten = ten.slice(1) + ten[0];
  if (ten[0] === "0") ten = `${ten[1]}${ten[0]}${ten.slice(2)}`;
  return ten + String(deTaxCheck(ten));
}
export function deTaxIdBad(f: Faker): string {
  const good = deTaxId(f);
  return good.slice(0, 10) + String((Number(good[10]) + f.number.int({ min: 1, max: 9 })) % 10);
}

/** FR NIR (numéro de sécurité sociale): 13 characters and a key 97 - (n mod 97). */
export function frNir(f: Faker, spaced: boolean, bad = false): string {
  const sex = pick(f, ["1", "2"]);
  const yy = digits(f, 2);
  const mm = String(f.number.int({ min: 1, max: 12 })).padStart(2, "0");
  const dept = pick(f, ["75", "69", "13", "33", "59", "2A", "2B", "01", "92", "44"]);
  const commune = String(f.number.int({ min: 1, max: 990 })).padStart(3, "0");
  const order = String(f.number.int({ min: 1, max: 999 })).padStart(3, "0");
  const body = sex + yy + mm + dept + commune + order;
  const numeric = BigInt(body.replace("2A", "19").replace("2B", "18"));
  let key = 97 - Number(numeric % 97n);
  if (bad) key = ((key + f.number.int({ min: 1, max: 95 })) % 97) + 1;
  const k = String(key).padStart(2, "0");
  if (!spaced) return body + k;
  return [sex, yy, mm, dept, commune, order, k].join(" ");
}

const DNI_LETTERS = "TRWAGMYFPDXBNJZSQVHLCKE";
export function esDni(f: Faker, bad = false): string {
  const n = digits(f, 8);
  let letter = DNI_LETTERS[Number(n) % 23] as string;
  if (bad) letter = DNI_LETTERS[(Number(n) + f.number.int({ min: 1, max: 22 })) % 23] as string;
  return n + letter;
}
export function esNie(f: Faker, bad = false): string {
  const p = pick(f, ["X", "Y", "Z"]);
  const n = digits(f, 7);
  const v = Number(String("XYZ".indexOf(p)) + n);
  let letter = DNI_LETTERS[v % 23] as string;
  if (bad) letter = DNI_LETTERS[(v + f.number.int({ min: 1, max: 22 })) % 23] as string;
  return p + n + letter;
}

const CF_ODD: Record<string, number> = {};
{
  const odd = [1, 0, 5, 7, 9, 13, 15, 17, 19, 21, 2, 4, 18, 20, 11, 3, 6, 8, 12, 14, 16, 10, 22, 25, 24, 23];
  for (let i = 0; i < 10; i++) CF_ODD[String(i)] = odd[i] as number;
  for (let i = 0; i < 26; i++) CF_ODD[UPPER[i] as string] = odd[i] as number;
}
function cfEven(c: string): number {
  return c >= "0" && c <= "9" ? Number(c) : c.charCodeAt(0) - 65;
}
export function itCodiceFiscale(f: Faker, bad = false): string {
  const cons = "BCDFGHLMNPRSTVZ";
  const s =
    chars(f, cons, 3) +
    chars(f, cons, 2) +
    chars(f, "AEIOU", 1) +
    digits(f, 2) +
    pick(f, [..."ABCDEHLMPRST"]) +
    String(f.number.int({ min: 1, max: 31 }) + pick(f, [0, 40])).padStart(2, "0") +
    pick(f, [..."ABCDEFGHILMZ"]) +
    digits(f, 3);
  let sum = 0;
  for (let i = 0; i < 15; i++) {
    const c = s[i] as string;
    sum += i % 2 === 0 ? (CF_ODD[c] as number) : cfEven(c);
  }
  let check = sum % 26;
  if (bad) check = (check + f.number.int({ min: 1, max: 25 })) % 26;
  return s + UPPER[check];
}

/** NL BSN: nine digits passing the 11-test (weights 9..2 and -1). */
export function nlBsn(f: Faker, bad = false): string {
  for (;;) {
    const n = digits(f, 9);
    if (n[0] === "0") continue;
    let sum = 0;
    for (let i = 0; i < 8; i++) sum += Number(n[i]) * (9 - i);
    sum -= Number(n[8]);
    if ((sum % 11 === 0) !== bad) return n;
  }
}

// ---- payment cards and IBANs: faker makes valid ones; these break them ---------------------

export function luhnValid(num: string): boolean {
  const ds = num.replace(/\D/g, "");
  let sum = 0;
  for (let i = 0; i < ds.length; i++) {
    let d = Number(ds[ds.length - 1 - i]);
    if (i % 2 === 1) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
  }
  return sum % 10 === 0;
}
/** A card-shaped number (same grouping) whose Luhn sum fails. */
export function cardBad(f: Faker, valid: string): string {
  for (;;) {
    const positions = [...valid].flatMap((c, i) => (c >= "0" && c <= "9" ? [i] : []));
    const out = alterDigit(f, valid, pick(f, positions.slice(1)));
    if (!luhnValid(out)) return out;
  }
}
export function ibanBad(f: Faker, valid: string): string {
  // Change one digit of the account part: a single-digit change always breaks mod 97.
  const positions = [...valid].flatMap((c, i) => (i > 4 && c >= "0" && c <= "9" ? [i] : []));
  return alterDigit(f, valid, pick(f, positions));
}

// ---- secrets -------------------------------------------------------------------------------

function b64url(s: string): string {
  return Buffer.from(s).toString("base64url");
}
export function secret(f: Faker): string {
  switch (f.number.int({ min: 0, max: 10 })) {
    case 0: {
      const kind = pick(f, ["RSA ", "EC ", "OPENSSH ", "", "ENCRYPTED "]);
      const lines = Array.from({ length: f.number.int({ min: 3, max: 6 }) }, () => chars(f, B64, 64));
      lines.push(`${chars(f, B64, f.number.int({ min: 8, max: 60 }))}==`);
      return `-----BEGIN ${kind}PRIVATE KEY-----\n${lines.join("\n")}\n-----END ${kind}PRIVATE KEY-----`;
    }
    case 1:
      return pick(f, ["AKIA", "ASIA"]) + chars(f, "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", 16);
    case 2:
      return pick(f, ["ghp_", "gho_", "ghu_", "ghs_", "ghr_"]) + chars(f, ALNUM, 36);
    case 3:
      return `github_pat_${chars(f, ALNUM, 22)}_${chars(f, ALNUM, 59)}`;
    case 4:
      return `glpat-${chars(f, `${ALNUM}-_`, 20)}`;
    case 5:
      return `${pick(f, ["xoxb", "xoxp", "xoxa"])}-${digits(f, 12)}-${digits(f, 13)}-${chars(f, ALNUM, 24)}`;
    case 6:
      return `sk-proj-${chars(f, B64URL, 124)}`;
    case 7:
      return `sk-${chars(f, ALNUM, 48)}`;
    case 8:
      return `sk-ant-api03-${chars(f, B64URL, 93)}AA`;
    case 9:
      return `AIza${chars(f, B64URL, 35)}`;
    default: {
      const header = b64url(JSON.stringify({ alg: pick(f, ["HS256", "RS256", "ES256"]), typ: "JWT" }));
      const payload = b64url(
        JSON.stringify({
          sub: f.string.uuid(),
          name: f.person.firstName(),
          iat: f.number.int({ min: 1.6e9, max: 1.8e9 }),
        }),
      );
      return `${header}.${payload}.${chars(f, B64URL, 43)}`;
    }
  }
}
/** A connection string whose password is the labelled span: [prefix, password, suffix]. */
export function connectionString(f: Faker): [string, string, string] {
  const scheme = pick(f, ["postgres", "postgresql", "mysql", "mongodb", "redis", "amqp", "mongodb+srv"]);
  const user = f.internet.username().replace(/[^A-Za-z0-9_.]/g, "");
  const pw = chars(f, `${ALNUM}!#%^*-_`, f.number.int({ min: 10, max: 24 }));
  const host = `${pick(f, ["db", "cache", "mq", "prod-db-1"])}.${f.internet.domainName()}`;
  return [
    `${scheme}://${user || "app"}:`,
    pw,
    `@${host}:${f.number.int({ min: 1024, max: 65000 })}/${pick(f, ["app", "main", "orders"])}`,
  ];
}

// ---- hard negatives --------------------------------------------------------------------------

export function hardNegative(f: Faker): string {
  switch (f.number.int({ min: 0, max: 13 })) {
    case 0:
      return f.string.uuid();
    case 1:
      return chars(f, "0123456789abcdef", 40); // git SHA
    case 2:
      return `${pick(f, ["€", "$", "£", ""])}${f.number.int({ min: 1, max: 99999 }).toLocaleString("de-DE")},${digits(f, 2)}${pick(f, [" €", " EUR", ""])}`;
    case 3:
      return f.date.past({ years: 30 }).toISOString().slice(0, 10);
    case 4: {
      const d = f.date.past({ years: 60 });
      return `${String(d.getDate()).padStart(2, "0")}.${String(d.getMonth() + 1).padStart(2, "0")}.${d.getFullYear()}`;
    }
    case 5:
      return `${pick(f, ["ORD", "INV", "RE", "CMD", "PED"])}-${f.number.int({ min: 2015, max: 2026 })}-${digits(f, 6)}`;
    case 6:
      return digits(f, pick(f, [6, 7, 8, 9, 10, 11, 12])); // bare order / customer number
    case 7:
      return `v${f.number.int({ min: 0, max: 20 })}.${f.number.int({ min: 0, max: 40 })}.${f.number.int({ min: 0, max: 99 })}`;
    case 8:
      return chars(f, B64, pick(f, [24, 32, 44, 64])); // base64 blob
    case 9:
      return pick(f, [
        "const total = items.reduce((a, b) => a + b.price, 0);",
        "SELECT id, created_at FROM orders WHERE id = 4711 LIMIT 10;",
        "for (let i = 0; i < 1000000; i++) { sum += i * 31; }",
        "curl -X POST https://api.example.com/v1/items -d '{\"qty\": 3}'",
        "@Component({ selector: 'app-root' })",
        "npm install @types/node@20.19.43",
        "docker run -p 8080:80 nginx:1.27.2",
        "git checkout -b fix/issue-1234",
      ]);
    case 10:
      return `${f.number.int({ min: 100, max: 999 })}.${f.number.int({ min: 100, max: 999 })}.${f.number.int({ min: 256, max: 999 })}.${f.number.int({ min: 0, max: 999 })}`; // not an IP
    case 11:
      return `+${f.number.int({ min: 1, max: 40 })}% `; // percentages
    case 12:
      for (;;) {
        const n = `${digits(f, 4)} ${digits(f, 4)} ${digits(f, 4)} ${digits(f, 4)}`; // card-shaped, Luhn-failing
        if (!luhnValid(n)) return n;
      }
    default:
      return `#${digits(f, 5)}`;
  }
}
