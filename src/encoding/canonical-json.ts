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
  return write(value, false);
}

/**
 * {@link canonicalize} of a record: every number a safe integer (else a TypeError naming where,
 * as {@link assertIntegersOnly} throws), checked as it is written rather than by a walk of its
 * own (a {@link NotSafeIntegerError}); `overlay`'s members are written as the record's own, over any of the same name. The same
 * text as `assertIntegersOnly(v); canonicalize({ ...record, ...overlay })`, without the copy.
 */
export function canonicalizeRecord(record: object, overlay?: Readonly<Record<string, unknown>>): string {
  try {
    return overlay ? writeObject(record as Record<string, unknown>, true, overlay) : write(record, true);
  } catch (err) {
    if (err !== NOT_AN_INTEGER) throw err;
    // The failure only: walk again to name where.
    assertIntegersOnlyAt(overlay ? { ...record, ...overlay } : record, "$");
    throw new NotSafeIntegerError("$: a number is not a safe integer");
  }
}

/** Thrown by `write` in integers mode; {@link canonicalizeRecord} names the place. */
const NOT_AN_INTEGER = Symbol("not a safe integer");

// One string built by concatenation (V8 ropes), no intermediate arrays or closures: the
// records on the request path are canonicalised twice each (record, then envelope).
function write(value: unknown, ints: boolean): string {
  if (value === null) return "null";
  switch (typeof value) {
    case "boolean":
      return value ? "true" : "false";
    case "number":
      if (ints) {
        if (!Number.isSafeInteger(value)) throw NOT_AN_INTEGER;
      } else if (!Number.isFinite(value)) throw new TypeError(`canonical JSON cannot represent ${value}`);
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
        let out = `[${value[0] === undefined ? "null" : write(value[0], ints)}`;
        for (let i = 1; i < n; i++) out += `,${value[i] === undefined ? "null" : write(value[i], ints)}`;
        return `${out}]`;
      }
      return writeObject(value as Record<string, unknown>, ints, undefined);
    }
    default:
      throw new TypeError(`canonical JSON cannot represent a ${typeof value}`);
  }
}

function writeObject(
  obj: Record<string, unknown>,
  ints: boolean,
  overlay: Readonly<Record<string, unknown>> | undefined,
): string {
  const keys = sortedKeys(obj, overlay);
  let out = "{";
  for (let i = 0; i < keys.length; i++) {
    const k = keys[i]!;
    const v = overlay && Object.hasOwn(overlay, k) ? overlay[k] : obj[k];
    if (v === undefined) continue;
    out += `${out.length === 1 ? "" : ","}${quotedKey(k)}:${write(v, ints)}`;
  }
  return `${out}}`;
}

/**
 * Member names as JSON strings, kept: records repeat the same few dozen names, and quoting one
 * again each time was a third of canonicalising a record (a scratch micro-benchmark, session 20:
 * ~16 -> ~11 µs a decision record). Bounded: names a request brings (label keys) fill it at
 * most to {@link QUOTED_MAX} names of at most {@link QUOTED_NAME_MAX} characters; past that a
 * name is quoted each time, as before.
 */
const QUOTED = new Map<string, string>();
const QUOTED_MAX = 4096;
const QUOTED_NAME_MAX = 64;

function quotedKey(k: string): string {
  let q = QUOTED.get(k);
  if (q === undefined) {
    q = JSON.stringify(k);
    if (k.length <= QUOTED_NAME_MAX && QUOTED.size < QUOTED_MAX) QUOTED.set(k, q);
  }
  return q;
}

/** Longest key list sorted by insertion; longer ones go to Array.prototype.sort. */
const INSERTION_SORT_MAX = 32;

/**
 * The object's own enumerable keys (and `overlay`'s it lacks) in UTF-16 code unit order (what `sort()` with no comparator
 * gives). Records' objects have a handful of keys, often already in order: an insertion sort in
 * place is a pass of comparisons for them and allocates nothing, where `sort()` copies the list
 * into a work array first — 5 % of all the bytes the request thread allocated at 500 req/s.
 */
function sortedKeys(obj: object, overlay?: object): string[] {
  const keys = Object.keys(obj);
  if (overlay) for (const k of Object.keys(overlay)) if (!Object.hasOwn(obj, k)) keys.push(k);
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

/** A number of a record is not a safe integer; the message names where (`$.a.b[2]: 1.5 …`). */
export class NotSafeIntegerError extends TypeError {}

function assertIntegersOnlyAt(value: unknown, path: string): void {
  if (typeof value === "number") {
    if (!Number.isSafeInteger(value))
      throw new NotSafeIntegerError(`${path}: ${value} is not a safe integer`);
  } else if (Array.isArray(value)) {
    value.forEach((v, i) => assertIntegersOnlyAt(v, `${path}[${i}]`));
  } else if (value !== null && typeof value === "object") {
    for (const [k, v] of Object.entries(value)) assertIntegersOnlyAt(v, `${path}.${k}`);
  }
}
