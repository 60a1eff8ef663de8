// Where a process's resident memory is, by kind of mapping (/proc/PID/smaps; Linux only).
// Used by bench/mem-ab.ts to say what an arm's RSS is made of, not only how much it is.

import { readFile } from "node:fs/promises";

/** MiB resident per kind of mapping. */
export type RssByKind = Record<string, number>;

const ARENA = 64 << 20; // glibc's non-main arena heaps: 64 MiB, aligned to 64 MiB

interface Mapping {
  start: number;
  end: number;
  perm: string;
  name: string;
  rss: number; // KiB
}

function parse(text: string): Mapping[] {
  const out: Mapping[] = [];
  for (const line of text.split("\n")) {
    const head = /^([0-9a-f]+)-([0-9a-f]+) (\S+) \S+ \S+ \S+\s*(.*)$/.exec(line);
    if (head) {
      out.push({
        start: Number.parseInt(head[1] ?? "0", 16),
        end: Number.parseInt(head[2] ?? "0", 16),
        perm: head[3] ?? "",
        name: head[4] ?? "",
        rss: 0,
      });
      continue;
    }
    const rss = /^Rss:\s+(\d+) kB/.exec(line);
    const last = out[out.length - 1];
    if (rss && last) last.rss = Number(rss[1]);
  }
  return out;
}

/**
 * Kinds: the node binary and other files; glibc malloc (the main heap and the 64 MiB-aligned
 * arenas of other threads); Wasm memories (a read-write region followed by V8's multi-GiB
 * inaccessible guard reservation: PGlite's heap, the policy instances'); executable anonymous
 * memory (JIT and Wasm code); the rest (V8's JavaScript heaps, thread stacks, mmap'd buffers).
 */
export function classify(text: string): RssByKind {
  const maps = parse(text);
  const kinds: RssByKind = {};
  const add = (k: string, kib: number) => {
    kinds[k] = (kinds[k] ?? 0) + kib / 1024;
  };
  maps.forEach((m, i) => {
    const next = maps[i + 1];
    if (m.name === "[heap]") add("malloc main heap", m.rss);
    else if (m.name.startsWith("/")) add(m.name.includes("node") ? "node binary" : "other files", m.rss);
    else if (m.name.startsWith("[")) add("stacks, vdso", m.rss);
    else if (m.perm.includes("x")) add("code (JIT, Wasm)", m.rss);
    else if (
      m.perm === "rw-p" &&
      next?.perm === "---p" &&
      next.start === m.end &&
      next.end - m.start > 1024 * 1024 * 1024
    )
      add("Wasm memories", m.rss);
    else if (m.perm === "rw-p" && m.start % ARENA === 0 && m.end - m.start <= ARENA)
      add("malloc arenas", m.rss);
    else add("other anon (V8 heaps, buffers)", m.rss);
  });
  for (const k of Object.keys(kinds)) kinds[k] = Math.round((kinds[k] ?? 0) * 10) / 10;
  return kinds;
}

/** The process tree's resident memory by kind, summed over its processes. */
export async function rssByKind(pids: readonly number[]): Promise<RssByKind> {
  const total: RssByKind = {};
  for (const pid of pids) {
    const text = await readFile(`/proc/${pid}/smaps`, "utf8").catch(() => "");
    for (const [k, v] of Object.entries(classify(text)))
      total[k] = Math.round(((total[k] ?? 0) + v) * 10) / 10;
  }
  return total;
}
