/**
 * `npx tsx bench/detect/equivalence.ts [REV] [--texts N]`: the spans of this tree's detectors
 * against those of src/detect at git revision REV (default HEAD) — on the frozen corpus, the
 * held-out set, 1 KB prompts cut from both, and N random and mutated strings (default 300,000).
 * A speed-up of src/detect must leave every span unchanged; this prints the first difference
 * and exits 1 if there is one. REV's files are written to a temporary directory, not kept.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { findSpans } from "../../src/detect/index.js";
import { loadCorpus } from "../../test/support/detect-corpus.js";
import { seeded as rng } from "../../test/support/seeded.js";

type Find = (text: string) => readonly { start: number; end: number; category: string }[];

const REPO = resolve(import.meta.dirname, "../..");
const args = process.argv.slice(2);
const nIdx = args.indexOf("--texts");
const N = nIdx >= 0 ? Number(args[nIdx + 1]) : 300_000;
const rev = args.find((a, i) => !a.startsWith("--") && args[i - 1] !== "--texts") ?? "HEAD";

async function loadOld(): Promise<{ find: Find; dir: string }> {
  const dir = mkdtempSync(join(tmpdir(), "sovr-detect-old-"));
  const files = execFileSync("git", ["ls-tree", "--name-only", rev, "src/detect/"], {
    cwd: REPO,
    encoding: "utf8",
  })
    .split("\n")
    .filter((f) => f.endsWith(".ts") && !f.endsWith(".test.ts"));
  for (const f of files)
    writeFileSync(
      join(dir, f.slice("src/detect/".length)),
      execFileSync("git", ["show", `${rev}:${f}`], { cwd: REPO }),
    );
  const mod = (await import(pathToFileURL(join(dir, "index.ts")).href)) as { findSpans: Find };
  return { find: mod.findSpans, dir };
}

// Characters the detectors care about, and some they must ignore.
// Some past U+00FF (’ € Kelvin sign, long s, 日, a mathematical letter), so two-byte strings are
// checked too.
const ALPHABET = "0123456789          --++(())..,,//::@@__AaBbXxYyZzDEFRITNLGKSMPQUVWeéüß\n\t=#x’€\u212Aſ日";
const WORDS = [
  " tel ",
  " Tel.: ",
  " phone ",
  " Nummer ",
  " id ",
  " IBAN ",
  " BSN ",
  " card ",
  " sk-",
  " AKIA",
  " eyJ",
  "://",
  " ghp_",
  "\u{1D400}tel ",
  " İd ",
  " \u212Aonto ",
  " code ",
  " +49 ",
  " (0",
  " 2A",
  " 0.0.0.0",
  "::1",
  " fe80::",
  "-----BEGIN PRIVATE KEY-----",
];

function randomText(r: () => number, pieces: string[]): string {
  const kind = r();
  if (kind < 0.3) {
    let s = "";
    const n = 1 + Math.floor(r() * 120);
    for (let i = 0; i < n; i++)
      s +=
        r() < 0.1
          ? (WORDS[Math.floor(r() * WORDS.length)] as string)
          : ALPHABET[Math.floor(r() * ALPHABET.length)];
    return s;
  }
  // A corpus text, or two glued, mutated in a few places.
  let s = pieces[Math.floor(r() * pieces.length)] as string;
  if (kind < 0.5) s += (r() < 0.5 ? "" : " ") + (pieces[Math.floor(r() * pieces.length)] as string);
  const edits = Math.floor(r() * 6);
  for (let e = 0; e < edits; e++) {
    const at = Math.floor(r() * (s.length + 1));
    const op = r();
    const ch =
      r() < 0.15
        ? (WORDS[Math.floor(r() * WORDS.length)] as string)
        : (ALPHABET[Math.floor(r() * ALPHABET.length)] as string);
    if (op < 0.4) s = s.slice(0, at) + ch + s.slice(at);
    else if (op < 0.7) s = s.slice(0, at) + s.slice(at + 1);
    else s = s.slice(0, at) + ch + s.slice(at + 1);
  }
  return s;
}

function same(a: ReturnType<Find>, b: ReturnType<Find>): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) {
    const x = a[i];
    const y = b[i];
    if (x?.start !== y?.start || x?.end !== y?.end || x?.category !== y?.category) return false;
  }
  return true;
}

async function main(): Promise<void> {
  const old = await loadOld();
  try {
    const texts = [...loadCorpus("corpus"), ...loadCorpus("heldout")].map((r) => r.text);
    let cur = "";
    const kb: string[] = [];
    for (const t of texts) {
      cur += `${t}\n`;
      if (cur.length >= 1024) {
        kb.push(cur.slice(0, 1024));
        cur = "";
      }
    }
    const r = rng(16);
    let checked = 0;
    let spans = 0;
    const check = (t: string): void => {
      const a = old.find(t);
      const b = findSpans(t);
      checked++;
      spans += b.length;
      if (!same(a, b)) {
        process.stdout.write(
          `DIFFERENT on ${JSON.stringify(t)}\nold ${JSON.stringify(a)}\nnew ${JSON.stringify(b)}\n`,
        );
        process.exit(1);
      }
    };
    for (const t of texts) check(t);
    for (const t of kb) check(t);
    for (let i = 0; i < N; i++) check(randomText(r, texts));
    process.stdout.write(`same spans on ${checked} texts (${spans} spans) as ${rev}\n`);
  } finally {
    rmSync(old.dir, { recursive: true, force: true });
  }
}

await main();
