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
  const out: string[] = [];
  write(value, out);
  return out.join("");
}

function write(value: unknown, out: string[]): void {
  if (value === null) {
    out.push("null");
    return;
  }
  switch (typeof value) {
    case "boolean":
      out.push(value ? "true" : "false");
      return;
    case "number":
      if (!Number.isFinite(value)) throw new TypeError(`canonical JSON cannot represent ${value}`);
      // ECMAScript serialisation of -0 is "0", as RFC 8785 requires.
      out.push(JSON.stringify(value));
      return;
    case "string":
      out.push(JSON.stringify(value));
      return;
    case "object": {
      if (Array.isArray(value)) {
        out.push("[");
        for (let i = 0; i < value.length; i++) {
          if (i > 0) out.push(",");
          // Like JSON.stringify, undefined in arrays becomes null.
          write(value[i] === undefined ? null : value[i], out);
        }
        out.push("]");
        return;
      }
      const obj = value as Record<string, unknown>;
      const keys = Object.keys(obj)
        .filter((k) => obj[k] !== undefined)
        .sort();
      out.push("{");
      keys.forEach((k, i) => {
        if (i > 0) out.push(",");
        out.push(JSON.stringify(k), ":");
        write(obj[k], out);
      });
      out.push("}");
      return;
    }
    default:
      throw new TypeError(`canonical JSON cannot represent a ${typeof value}`);
  }
}

/** Throws unless every number in `value` is a safe integer (decision records: µs, micro-USD). */
export function assertIntegersOnly(value: unknown, path = "$"): void {
  if (typeof value === "number") {
    if (!Number.isSafeInteger(value)) throw new TypeError(`${path}: ${value} is not a safe integer`);
  } else if (Array.isArray(value)) {
    value.forEach((v, i) => assertIntegersOnly(v, `${path}[${i}]`));
  } else if (value !== null && typeof value === "object") {
    for (const [k, v] of Object.entries(value)) assertIntegersOnly(v, `${path}.${k}`);
  }
}
