/**
 * The redact obligation, outbound half (issue 16): the spans of the named categories are
 * replaced by placeholders before the prompt leaves, `[EMAIL_1]`, `[IBAN_2]`, stable per
 * request (the same value gets the same placeholder in every text and on every failover
 * attempt). The table stays in memory for the answer's way back (unredact-stream.ts) and is
 * never logged or recorded.
 */
import { mapRequestTexts } from "./content-walk.js";
import type { ContentDetector, RouteRequest } from "./types.js";

/** Placeholders of one request: value ↔ placeholder. */
export class RedactionTable {
  readonly #byValue = new Map<string, string>();
  readonly #originals = new Map<string, string>();
  readonly #next = new Map<string, number>();

  /** The placeholder of `value` found as `category`, made on first sight. */
  placeholder(category: string, value: string): string {
    const key = `${category}\u0000${value}`;
    let p = this.#byValue.get(key);
    if (p === undefined) {
      const n = (this.#next.get(category) ?? 0) + 1;
      this.#next.set(category, n);
      p = `[${category.toUpperCase().replace(/[^A-Z0-9]+/g, "_")}_${n}]`;
      this.#byValue.set(key, p);
      this.#originals.set(p, value);
    }
    return p;
  }

  /** The value a placeholder stands for, undefined for anything else. */
  original(placeholder: string): string | undefined {
    return this.#originals.get(placeholder);
  }

  /** Whether `s` is the start of a placeholder (but not a whole one). */
  startsPlaceholder(s: string): boolean {
    for (const p of this.#originals.keys()) if (p.length > s.length && p.startsWith(s)) return true;
    return false;
  }

  get size(): number {
    return this.#originals.size;
  }
}

/**
 * `req` as it may leave for an endpoint obliged to redact `categories`: every span the
 * detector finds in those categories, in every text content-walk.ts visits, replaced by its
 * placeholder from `table`.
 */
export function redactRequest(
  req: RouteRequest,
  detector: ContentDetector,
  categories: readonly string[],
  table: RedactionTable,
): RouteRequest {
  const wanted = new Set(categories);
  return mapRequestTexts(req, (text) => {
    if (text.length === 0) return text;
    let out = "";
    let at = 0;
    for (const s of detector.findSpans(text)) {
      if (!wanted.has(s.category) || s.start < at) continue;
      out += text.slice(at, s.start) + table.placeholder(s.category, text.slice(s.start, s.end));
      at = s.end;
    }
    return at === 0 ? text : out + text.slice(at);
  });
}
