/**
 * RFC 8785 JSON Canonicalization Scheme (JCS).
 *
 * - Object members sorted by the UTF-16 code units of their names (RFC 8785 §3.2.3), which is
 *   exactly JavaScript's default string comparison.
 * - Numbers serialised as ECMAScript's Number.prototype.toString (RFC 8785 §3.2.2.3).
 * - Strings escaped as JSON.stringify does, which matches RFC 8785 §3.2.2.2.
 * - No whitespace.
 *
 * Decision records restrict numbers further to safe integers (see `assertIntegersOnly`).
 */
export function canonicalize(value: unknown): string {
  return write(value);
}

// One string built by concatenation (V8 ropes), no intermediate arrays or closures: the
// records on the request path are canonicalised twice each (record, then envelope).
function write(value: unknown): string {
  if (value === null) return "null";
  switch (typeof value) {
    case "boolean":
      return value ? "true" : "false";
    case "number":
      if (!Number.isFinite(value)) throw new TypeError(`canonical JSON cannot represent ${value}`);
      // ECMAScript serialisation (Number.prototype.toString, what JSON.stringify uses for a
      // finite number); -0 becomes "0", as RFC 8785 requires.
      return String(value);
    case "string":
      return JSON.stringify(value);
    case "object": {
      if (Array.isArray(value)) {
        const n = value.length;
        if (n === 0) return "[]";
        // Like JSON.stringify, undefined in arrays becomes null.
        let out = `[${value[0] === undefined ? "null" : write(value[0])}`;
        for (let i = 1; i < n; i++) out += `,${value[i] === undefined ? "null" : write(value[i])}`;
        return `${out}]`;
      }
      const obj = value as Record<string, unknown>;
      const keys = sortedKeys(obj);
      let out = "{";
      for (let i = 0; i < keys.length; i++) {
        const k = keys[i]!;
        const v = obj[k];
        if (v === undefined) continue;
        out += `${out.length === 1 ? "" : ","}${JSON.stringify(k)}:${write(v)}`;
      }
      return `${out}}`;
    }
    default:
      throw new TypeError(`canonical JSON cannot represent a ${typeof value}`);
  }
}

/** Longest key list sorted by insertion; longer ones go to Array.prototype.sort. */
const INSERTION_SORT_MAX = 32;

/**
 * The object's own enumerable keys in UTF-16 code unit order (what `sort()` with no comparator
 * gives). Records' objects have a handful of keys, often already in order: an insertion sort in
 * place is a pass of comparisons for them and allocates nothing, where `sort()` copies the list
 * into a work array first — 5 % of all the bytes the request thread allocated at 500 req/s.
 */
function sortedKeys(obj: object): string[] {
  const keys = Object.keys(obj);
  const n = keys.length;
  if (n > INSERTION_SORT_MAX) return keys.sort();
  for (let i = 1; i < n; i++) {
    const k = keys[i]!;
    let j = i - 1;
    if (keys[j]! <= k) continue;
    do {
      keys[j + 1] = keys[j]!;
      j--;
    } while (j >= 0 && keys[j]! > k);
    keys[j + 1] = k;
  }
  return keys;
}

/** Throws unless every number in `value` is a safe integer (decision records: µs, micro-USD). */
export function assertIntegersOnly(value: unknown, path = "$"): void {
  // The walk builds no paths; only a failure walks again to name where.
  if (!integersOnly(value)) assertIntegersOnlyAt(value, path);
}

function integersOnly(value: unknown): boolean {
  if (typeof value === "number") return Number.isSafeInteger(value);
  if (value === null || typeof value !== "object") return true;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) if (!integersOnly(value[i])) return false;
    return true;
  }
  for (const k in value) {
    if (Object.hasOwn(value, k) && !integersOnly((value as Record<string, unknown>)[k])) return false;
  }
  return true;
}

function assertIntegersOnlyAt(value: unknown, path: string): void {
  if (typeof value === "number") {
    if (!Number.isSafeInteger(value)) throw new TypeError(`${path}: ${value} is not a safe integer`);
  } else if (Array.isArray(value)) {
    value.forEach((v, i) => assertIntegersOnlyAt(v, `${path}[${i}]`));
  } else if (value !== null && typeof value === "object") {
    for (const [k, v] of Object.entries(value)) assertIntegersOnlyAt(v, `${path}.${k}`);
  }
}
