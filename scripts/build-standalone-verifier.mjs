#!/usr/bin/env node
// Builds console/sovr-verify.html, the standalone verifier an auditor keeps and opens from disk:
// console/lib/*.js, console/js/dom.js and console/standalone/verify-app.js inlined as one
// classic script (browsers refuse ES modules from file://), with a CSP naming that script's
// and style's SHA-256 and no network at all. The served console imports the same modules.
// `node scripts/build-standalone-verifier.mjs` writes it; `--check` exits 1 when it is stale.
import { createHash } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const dir = fileURLToPath(new URL("../console/", import.meta.url));
/** Dependency order: each module after the ones it imports. */
const MODULES = [
  "lib/bytes.js",
  "lib/canonical.js",
  "lib/keyring.js",
  "lib/merkle.js",
  "lib/note.js",
  "lib/dsse.js",
  "lib/entry.js",
  "lib/export-verify.js",
  "js/dom.js",
  "standalone/verify-app.js",
];
const STYLE = [
  "body{font:14px/1.45 system-ui,sans-serif;margin:1.5rem;max-width:60rem;color:#1c1f23}",
  "fieldset{margin:0.8rem 0;border:1px solid #d0d4d9}label{display:block;margin:0.3rem 0}",
  ".badge{display:inline-block;padding:0.2rem 0.6rem;border-radius:999px;font-weight:600;margin-right:0.4rem}",
  ".ok{background:#e3f4e8;color:#106b2b}.bad{background:#fde7e7;color:#a4161a}.pending{background:#fff4d6}",
  "pre{background:#f7f8fa;border:1px solid #d0d4d9;padding:0.5rem;overflow:auto;max-height:24rem}",
].join("");

export function buildStandalone() {
  const body = MODULES.map((m) => {
    const src = readFileSync(join(dir, m), "utf8")
      .split("\n")
      .filter((l) => !/^import .* from "[^"]+";$/.test(l))
      .map((l) => l.replace(/^export (async function|function|class|const|let) /, "$1 "))
      .join("\n");
    return `// ---- console/${m}\n${src}`;
  }).join("\n");
  const script = `\n(() => {\n"use strict";\n${body}\n})();\n`;
  const hash = (s) => `sha256-${createHash("sha256").update(s).digest("base64")}`;
  return readFileSync(join(dir, "standalone/verify.template.html"), "utf8")
    .replace("%SCRIPT_HASH%", hash(script))
    .replace("%STYLE_HASH%", hash(STYLE))
    .replace("%STYLE%", () => STYLE)
    .replace("%SCRIPT%", () => script);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const out = join(dir, "sovr-verify.html");
  const html = buildStandalone();
  if (process.argv.includes("--check")) {
    if (readFileSync(out, "utf8") !== html) {
      console.error("console/sovr-verify.html is stale: run node scripts/build-standalone-verifier.mjs");
      process.exit(1);
    }
  } else writeFileSync(out, html);
}
