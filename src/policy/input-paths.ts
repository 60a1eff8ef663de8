import { execFile } from "node:child_process";
import { join } from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);

/**
 * Builtins whose answer is not a function of their arguments: the clock, randomness, the
 * network, the runtime's environment. A bundle calling any of them is never declared
 * time-independent (its decisions are not cached). The engine checks the compiled Wasm too
 * ({@link ../policy/decision-cache.ts}), so a bundle not built here is held to the same rule.
 */
export const NONDETERMINISTIC_BUILTINS: readonly string[] = [
  "time.now_ns",
  "rand.intn",
  "uuid.rfc4122",
  "http.send",
  "net.lookup_ip_addr",
  "opa.runtime",
  "trace",
];

/** What the rules read of `input` and which non-deterministic builtins they call. */
export interface InputUse {
  /**
   * The input paths the rules read (`["request", "provider", "zdr"]`), sorted, none a prefix
   * of another; a reference with a computed key (`input.request[k]`) counts as reading
   * everything below the constant part. `null` when a rule reads `input` as a whole.
   */
  paths: string[][] | null;
  /** Non-deterministic builtins called (see {@link NONDETERMINISTIC_BUILTINS}), sorted. */
  nondeterministic: string[];
}

type Term = { type?: string; value?: unknown };

/**
 * Finds, on the parsed AST (`opa parse`, so comments and strings do not count), every
 * reference to `input` in the modules and every call of a non-deterministic builtin.
 * Sound by construction: Rego reaches the input only through references whose head is the
 * variable `input` (aliases and imports are references too), so an input reduced to these
 * paths evaluates as the whole input does.
 */
export async function analyseInputUse(
  opa: string,
  dir: string,
  regoFiles: readonly string[],
): Promise<InputUse> {
  const found: string[][] = [];
  let whole = false;
  const calls = new Set<string>();
  const visit = (node: unknown): void => {
    if (Array.isArray(node)) {
      for (const x of node) visit(x);
      return;
    }
    if (typeof node !== "object" || node === null) return;
    const t = node as Term;
    if (t.type === "var" && t.value === "input") {
      whole = true;
      return;
    }
    if (t.type === "ref" && Array.isArray(t.value)) {
      const parts = t.value as Term[];
      const head = parts[0];
      if (head?.type === "var" && head.value === "input") {
        const path: string[] = [];
        let i = 1;
        for (; i < parts.length && parts[i]?.type === "string"; i++) path.push(String(parts[i]!.value));
        if (path.length === 0) whole = true;
        else found.push(path);
        visit(parts.slice(i));
        return;
      }
      // A call's operator is a ref of vars and strings: `time.now_ns` is [var time, string now_ns].
      const name = refName(parts);
      if (name !== undefined && isNondeterministic(name)) calls.add(name);
    }
    for (const v of Object.values(node)) visit(v);
  };
  for (const rel of regoFiles) {
    const { stdout } = await run(
      opa,
      ["parse", "--format", "json", "--json-include", "-comments", join(dir, rel)],
      {
        maxBuffer: 64 * 1024 * 1024,
      },
    );
    visit(JSON.parse(stdout));
  }
  return { paths: whole ? null : prunePaths(found), nondeterministic: [...calls].sort() };
}

/** `rand.intn` for a reference made of a variable and constant strings, else undefined. */
function refName(parts: readonly Term[]): string | undefined {
  if (parts[0]?.type !== "var") return undefined;
  const names: string[] = [];
  for (const p of parts) {
    if (p.type !== "var" && p.type !== "string") return undefined;
    names.push(String(p.value));
  }
  return names.join(".");
}

function isNondeterministic(name: string): boolean {
  return (
    NONDETERMINISTIC_BUILTINS.includes(name) || name.startsWith("rand.") || name.startsWith("crypto.x509.")
  );
}

/** Distinct paths, sorted, dropping any path below another (reading `a` reads `a.b`). */
export function prunePaths(paths: readonly string[][]): string[][] {
  const sorted = [...paths].sort(comparePaths);
  const out: string[][] = [];
  for (const p of sorted) {
    const last = out.at(-1);
    if (last && last.length <= p.length && last.every((s, i) => s === p[i])) continue;
    out.push(p);
  }
  return out;
}

function comparePaths(a: readonly string[], b: readonly string[]): number {
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    if (a[i]! < b[i]!) return -1;
    if (a[i]! > b[i]!) return 1;
  }
  return a.length - b.length;
}

/**
 * The manifest metadata (under `sovereign_router`) for a bundle whose rules read `use`:
 * `decision_input`, the paths read (absent when a rule reads the whole input), and
 * `time_independent: true` when no rule calls a non-deterministic builtin or reads
 * `input.now` (then the engine may cache decisions, see src/policy/decision-cache.ts).
 */
export function inputUseMetadata(use: InputUse): { decision_input?: string[][]; time_independent?: true } {
  if (!use.paths) return {};
  const timeIndependent = use.nondeterministic.length === 0 && !use.paths.some((p) => p[0] === "now");
  return { decision_input: use.paths, ...(timeIndependent ? { time_independent: true as const } : {}) };
}
