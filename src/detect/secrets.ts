/**
 * Secrets in their published formats: PEM private keys, AWS access key ids, GitHub, GitLab,
 * Slack, OpenAI, Anthropic and Google API keys, JWTs, and the password of a URL-style
 * connection string (the span is the password alone). No checksum exists for these; the
 * prefixes and lengths are specific enough.
 */
import { isWord, scan, type Span } from "./span.js";

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
    "eyJ[A-Za-z0-9_-]{8,4000}\\.eyJ[A-Za-z0-9_-]{8,8000}\\.[A-Za-z0-9_-]{16,1000}", // JWT
  ]
    .map((p) => `${p}(?![A-Za-z0-9_-])`)
    .join("|"),
  "g",
);
const PEM_BEGIN_RE = /-----BEGIN (?:[A-Z0-9]{1,20} ){0,3}PRIVATE KEY-----/g;
// scheme://user:password@ — the password is what the span covers.
const URL_PASSWORD_RE = /(?<![A-Za-z0-9+.-])[A-Za-z][A-Za-z0-9+.-]{1,20}:\/\/[^\s:/@]{1,128}:([^\s/@]{1,128})@/g;

export function findSecrets(text: string, out: Span[]): void {
  for (const m of text.matchAll(PEM_BEGIN_RE)) {
    const end = text.indexOf("PRIVATE KEY-----", m.index + m[0].length);
    const endLine = text.lastIndexOf("-----END ", end);
    if (end < 0 || endLine < m.index) continue;
    out.push({ start: m.index, end: end + 16, category: "secret" });
  }
  // A token does not continue a longer word.
  const notInToken = (c: number): boolean => !isWord(c) && c !== 45;
  scan(TOKEN_RE, text, notInToken, (m) => out.push({ start: m.index, end: m.index + m[0].length, category: "secret" }));
  const fromSchemeStart = (c: number): boolean => !isWord(c) && c !== 43 && c !== 45 && c !== 46;
  if (!text.includes("://")) return;
  scan(URL_PASSWORD_RE, text, fromSchemeStart, (m) => {
    const pw = m[1] as string;
    const end = m.index + m[0].length - 1;
    out.push({ start: end - pw.length, end, category: "secret" });
  });
}
