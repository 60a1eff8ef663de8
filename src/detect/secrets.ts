/**
 * Secrets in their published formats: PEM private keys, AWS access key ids, GitHub, GitLab,
 * Slack, OpenAI, Anthropic and Google API keys, JWTs, and the password of a URL-style
 * connection string (the span is the password alone). No checksum exists for these; the
 * prefixes and lengths are specific enough.
 */
import { matchAt } from "./digit-runs.js";
import { isAlnum, isWord, type Span, scan } from "./span.js";

const TOKEN_RE = new RegExp(
  [
    "(?:AKIA|ASIA|AGPA|AIDA|AROA|ANPA|ANVA|AIPA)[A-Z2-7]{16}", // AWS access key id
    "gh[pousr]_[A-Za-z0-9]{36}", // GitHub classic tokens
    "github_pat_[A-Za-z0-9]{22}_[A-Za-z0-9]{59}", // GitHub fine-grained token
    "glpat-[A-Za-z0-9_-]{20}", // GitLab personal access token
    "xox[abposr]-[A-Za-z0-9-]{10,250}", // Slack
    "sk-ant-(?:api|admin)\\d\\d-[A-Za-z0-9_-]{80,120}", // Anthropic
    "sk-(?:proj-|svcacct-|admin-)?[A-Za-z0-9_-]{20,250}", // OpenAI
    "AIza[A-Za-z0-9_-]{35}", // Google API key
  ]
    .map((p) => `${p}(?![A-Za-z0-9_-])`)
    .join("|"),
  "g",
);
/**
 * JWTs (`eyJ…` header, `.`, `eyJ…` payload, `.`, signature), found by one forward walk: a
 * failed candidate is skipped whole, so a text of repeated `eyJ` costs one pass.
 */
function findJwts(text: string, out: Span[]): void {
  let at = nextEyJ(text, 0);
  while (at >= 0) {
    let next = at + 3;
    if (at === 0 || !isB64Url(text.charCodeAt(at - 1))) {
      const e1 = b64UrlRun(text, at);
      if (text.charCodeAt(e1) === 46 && text.startsWith("eyJ", e1 + 1)) {
        const e2 = b64UrlRun(text, e1 + 1);
        const e3 = text.charCodeAt(e2) === 46 ? b64UrlRun(text, e2 + 1) : e2;
        if (e1 - at >= 11 && e2 - e1 >= 12 && e3 - e2 >= 17)
          out.push({ start: at, end: e3, category: "secret" });
        next = Math.max(e3, next);
      } else next = Math.max(e1, next);
    }
    at = nextEyJ(text, next);
  }
}
/**
 * `text.indexOf("eyJ", from)`, searched by its rarer "yJ": an index search stops at every
 * occurrence of the needle's first character, and "e" is the commonest letter of the languages
 * the corpus holds.
 */
function nextEyJ(text: string, from: number): number {
  for (let y = text.indexOf("yJ", from + 1); y >= 0; y = text.indexOf("yJ", y + 2))
    if (text.charCodeAt(y - 1) === 101) return y - 1;
  return -1;
}
function isB64Url(c: number): boolean {
  return isWord(c) || c === 45;
}
function b64UrlRun(text: string, from: number): number {
  let i = from;
  while (i < text.length && isB64Url(text.charCodeAt(i))) i++;
  return i;
}

const PEM_BEGIN_RE = /-----BEGIN (?:[A-Z0-9]{1,20} ){0,3}PRIVATE KEY-----/g;
// scheme://user:password@ — the password is what the span covers. Tried, sticky, at the start of
// the scheme in front of each `://`.
const URL_PASSWORD_RE =
  /(?<![A-Za-z0-9+.-])[A-Za-z][A-Za-z0-9+.-]{1,20}:\/\/[^\s:/@]{1,128}:([^\s/@]{1,128})@/y;
function isSchemeChar(c: number): boolean {
  return isAlnum(c) || c === 43 || c === 45 || c === 46;
}

function findUrlPasswords(text: string, out: Span[]): void {
  let at = text.indexOf("://");
  while (at >= 0) {
    let start = at;
    while (start > 0 && at - start <= 21 && isSchemeChar(text.charCodeAt(start - 1))) start--;
    // The scheme is the whole run of scheme characters before `://`, not part of a longer word.
    const m =
      at - start >= 2 && text.charCodeAt(start - 1) !== 95 ? matchAt(URL_PASSWORD_RE, text, start) : null;
    if (m !== null) {
      const pw = m[1] as string;
      const end = start + m[0].length - 1;
      out.push({ start: end - pw.length, end, category: "secret" });
    }
    at = text.indexOf("://", m === null ? at + 3 : start + m[0].length);
  }
}

export function findSecrets(text: string, out: Span[]): void {
  PEM_BEGIN_RE.lastIndex = 0;
  for (let m = PEM_BEGIN_RE.exec(text); m !== null; m = PEM_BEGIN_RE.exec(text)) {
    const endLine = text.indexOf("-----END ", m.index + m[0].length);
    if (endLine < 0) break; // no later key can close either
    const end = text.indexOf("PRIVATE KEY-----", endLine);
    if (end < 0) break;
    if (end - endLine <= 40) out.push({ start: m.index, end: end + 16, category: "secret" });
    PEM_BEGIN_RE.lastIndex = end + 16;
  }
  findJwts(text, out);
  // A token does not continue a longer word.
  const notInToken = (c: number): boolean => !isWord(c) && c !== 45;
  scan(TOKEN_RE, text, notInToken, (m) =>
    out.push({ start: m.index, end: m.index + m[0].length, category: "secret" }),
  );
  findUrlPasswords(text, out);
}
