// One-off: moves files (git mv) and rewrites relative import specifiers so that imports across
// src/ folders go through the target folder's index.js and the index re-exports what they use.
// Deterministic: files and names are processed in sorted order. Usage: node tools/restructure.mjs moves.json [--dry]
import { execFileSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { dirname, join, posix, relative } from "node:path";

/** Static and dynamic imports/re-exports of biome-formatted TypeScript: spec, its offsets, bindings. */
export function parseImports(text) {
  const out = [];
  const stat = /^(import|export)\s+(type\s+)?([^;]*?)\s*from\s+"([^"]+)";/gm;
  for (const m of text.matchAll(stat)) {
    const allType = !!m[2];
    const clause = m[3].trim();
    const start = m.index + m[0].lastIndexOf(`"${m[4]}"`) + 1;
    let names = [];
    if (/^\*/.test(clause)) names = "*";
    else {
      const braces = clause.match(/\{([\s\S]*)\}/);
      const def = clause
        .replace(/\{[\s\S]*\}/, "")
        .replace(/,/g, "")
        .trim();
      if (def && m[1] === "import") names.push({ name: "default", type: allType });
      if (braces)
        for (const raw of braces[1].split(",")) {
          const e = raw.trim();
          if (!e) continue;
          const t = /^type\s+/.test(e);
          const name = e
            .replace(/^type\s+/, "")
            .split(/\s+as\s+/)[0]
            .trim();
          names.push({ name, type: allType || t });
        }
    }
    out.push({ spec: m[4], start, end: start + m[4].length, names, kind: m[1] });
  }
  const side = /^import\s+"([^"]+)";/gm;
  for (const m of text.matchAll(side)) {
    const start = m.index + m[0].indexOf('"') + 1;
    out.push({ spec: m[1], start, end: start + m[1].length, names: [], kind: "import" });
  }
  const dyn = /\bimport\(\s*"([^"]+)"\s*\)/g;
  for (const m of text.matchAll(dyn)) {
    const start = m.index + m[0].indexOf('"') + 1;
    out.push({ spec: m[1], start, end: start + m[1].length, names: "dynamic", kind: "import" });
  }
  return out;
}

const moves = JSON.parse(readFileSync(process.argv[2], "utf8")); // { "src/a/x.ts": "src/b/x.ts" }
const dry = process.argv.includes("--dry");
const roots = ["src", "test", "bench", "scripts"];

function walk(dir, out) {
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) {
      if (p === "src/gen" || name === "node_modules" || name === "results") continue;
      walk(p, out);
    } else if (/\.(ts|mts)$/.test(name)) out.push(p);
  }
  return out;
}
const files = roots.flatMap((r) => walk(r, []));
const newPath = (p) => moves[p] ?? p;

/** Module of a src file: src/api/<sub>/… → "api/<sub>", src/<top>/… → "<top>". */
function moduleOf(p) {
  const parts = p.split("/");
  if (parts[0] !== "src" || parts.length < 3) return null;
  if (parts[1] === "api" && parts.length >= 4) return `api/${parts[2]}`;
  return parts[1];
}

function resolveTarget(fromOld, spec) {
  const base = posix.normalize(posix.join(posix.dirname(fromOld), spec));
  for (const c of [base.replace(/\.js$/, ".ts"), base.replace(/\.mjs$/, ".mts"), base]) {
    if (existsSync(c) && statSync(c).isFile()) return c;
  }
  if (base.startsWith("src/gen/")) return base; // generated, not walked
  throw new Error(`cannot resolve ${spec} from ${fromOld}`);
}

function specifierFor(fromNew, targetNew) {
  let s = posix
    .relative(posix.dirname(fromNew), targetNew)
    .replace(/\.ts$/, ".js")
    .replace(/\.mts$/, ".mjs");
  if (!s.startsWith(".")) s = `./${s}`;
  return s;
}

/** Collected re-exports: module → name → { file, type } */
const wanted = new Map();
function want(mod, name, file, typeOnly, by) {
  if (!wanted.has(mod)) wanted.set(mod, new Map());
  const m = wanted.get(mod);
  const prev = m.get(name);
  if (prev && prev.file !== file)
    throw new Error(`name clash in ${mod}: ${name} from ${prev.file} and ${file} (${by})`);
  m.set(name, { file, type: (prev ? prev.type : true) && typeOnly });
}

const edits = new Map(); // newPath → new text
for (const oldP of files) {
  const nP = newPath(oldP);
  const text = readFileSync(oldP, "utf8");
  const reps = [];
  for (const st of parseImports(text)) {
    const { names } = st;
    if (!st.spec.startsWith(".")) continue;
    const tOld = resolveTarget(oldP, st.spec);
    const tNew = newPath(tOld);
    let spec = specifierFor(nP, tNew);
    const fm = moduleOf(nP);
    const tm = moduleOf(tNew);
    if (nP.startsWith("src/") && fm && tm && tm !== "gen" && fm !== tm && !tNew.endsWith("/index.ts")) {
      if (names === "*" || names === "dynamic")
        throw new Error(`${oldP}: namespace/dynamic import across folders: ${st.spec}`);
      // Outside api/, the api sub-folders are reached through api/index.ts alone.
      const viaApi = tm.startsWith("api/") && !fm.startsWith("api/");
      spec = specifierFor(nP, viaApi ? "src/api/index.ts" : `src/${tm}/index.ts`);
      for (const n of names) {
        want(tm, n.name, tNew, n.type, oldP);
        if (viaApi) want("api", n.name, `src/${tm}/index.ts`, n.type, oldP);
      }
    }
    if (spec !== st.spec) reps.push({ start: st.start, end: st.end, spec });
  }
  let out = text;
  for (const r of reps.sort((a, b) => b.start - a.start))
    out = out.slice(0, r.start) + r.spec + out.slice(r.end);
  if (out !== text || nP !== oldP) edits.set(nP, { oldP, out, changed: out !== text });
}

// git mv first, then write contents.
for (const [nP, { oldP }] of [...edits].sort()) {
  if (nP === oldP) continue;
  if (dry) {
    console.log(`mv ${oldP} ${nP}`);
    continue;
  }
  execFileSync("mkdir", ["-p", dirname(nP)]);
  execFileSync("git", ["mv", oldP, nP]);
}
for (const [nP, { out, changed }] of [...edits].sort()) if (changed && !dry) writeFileSync(nP, out);

// Index files: add exports that importers across folders need and the index lacks.
function exportedNames(file) {
  if (!existsSync(file)) return new Set();
  const text = readFileSync(file, "utf8");
  const names = new Set();
  for (const st of parseImports(text)) {
    if (st.kind !== "export") continue;
    if (st.names === "*") names.add(`*${st.spec}`);
    else for (const n of st.names) names.add(n.name);
  }
  // exported declarations (export function/class/const/type/interface)
  for (const m of text.matchAll(
    /^export\s+(?:declare\s+)?(?:async\s+)?(?:function\*?|class|const|let|type|interface|enum|abstract\s+class)\s+([A-Za-z_$][\w$]*)/gm,
  ))
    names.add(m[1]);
  return names;
}
for (const mod of [...wanted.keys()].sort()) {
  const idx = `src/${mod}/index.ts`;
  const have = exportedNames(dry ? idx : idx);
  const byFile = new Map();
  for (const [name, { file, type }] of [...wanted.get(mod)].sort()) {
    if (have.has(name)) continue;
    const spec = specifierFor(idx, file);
    if (have.has(`*${spec}`)) continue;
    if (!byFile.has(spec)) byFile.set(spec, []);
    byFile.get(spec).push({ name, type });
  }
  if (byFile.size === 0) continue;
  let add = "";
  for (const [spec, ns] of [...byFile].sort()) {
    const list = ns.map((n) => (n.type ? `type ${n.name}` : n.name)).join(", ");
    add += `export { ${list} } from "${spec}";\n`;
  }
  if (dry) {
    console.log(`== ${idx}\n${add}`);
    continue;
  }
  const prev = existsSync(idx)
    ? readFileSync(idx, "utf8")
    : `// The public face of ${mod}/: other folders import only what is exported here.\n`;
  writeFileSync(idx, prev + add);
}
