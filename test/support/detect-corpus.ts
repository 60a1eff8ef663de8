/**
 * The frozen detector corpus (test/fixtures/detect/*.jsonl, made by bench/detect/generate-corpus.ts)
 * and its span-level scoring, shared by the corpus test in src/detect and `npm run bench:detect`.
 *
 * Matching: a predicted span is a true positive when it has the category of a gold span and
 * overlaps it (each gold span matched once); "exact" additionally requires equal offsets.
 */
import { readFileSync } from "node:fs";
import { resolve } from "node:path";

export interface GoldSpan {
  start: number;
  end: number;
  category: string;
}
export interface CorpusRecord {
  id: number;
  lang: string;
  text: string;
  spans: GoldSpan[];
}
export interface Score {
  tp: number;
  fp: number;
  fn: number;
  precision: number;
  recall: number;
}

const DIR = resolve(import.meta.dirname, "../fixtures/detect");

export function loadCorpus(name: "corpus" | "heldout"): CorpusRecord[] {
  return readFileSync(resolve(DIR, `${name}.jsonl`), "utf8")
    .split("\n")
    .filter((l) => l.length > 0)
    .map((l) => JSON.parse(l) as CorpusRecord);
}

/** Per-category precision and recall of `predicted[i]` against `records[i].spans`. */
export function score(
  records: CorpusRecord[],
  predicted: GoldSpan[][],
  categories: readonly string[],
  mode: "overlap" | "exact",
): Record<string, Score> {
  const counts = new Map(categories.map((c) => [c, { tp: 0, fp: 0, fn: 0 }]));
  records.forEach((rec, i) => {
    const ps = (predicted[i] ?? []).filter((p) => counts.has(p.category));
    const used = new Set<number>();
    for (const g of rec.spans) {
      const c = counts.get(g.category);
      if (!c) continue;
      const j = ps.findIndex(
        (p, k) =>
          !used.has(k) &&
          p.category === g.category &&
          (mode === "exact" ? p.start === g.start && p.end === g.end : p.start < g.end && g.start < p.end),
      );
      if (j >= 0) {
        used.add(j);
        c.tp++;
      } else c.fn++;
    }
    ps.forEach((p, k) => {
      if (!used.has(k)) (counts.get(p.category) as { fp: number }).fp++;
    });
  });
  const out: Record<string, Score> = {};
  for (const [c, s] of counts)
    out[c] = {
      ...s,
      precision: s.tp + s.fp === 0 ? 1 : s.tp / (s.tp + s.fp),
      recall: s.tp + s.fn === 0 ? 1 : s.tp / (s.tp + s.fn),
    };
  return out;
}
