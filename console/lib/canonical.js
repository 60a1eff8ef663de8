// RFC 8785 canonical JSON for the values records hold (docs/audit.md §1): objects with members
// sorted by UTF-16 code units, no whitespace, strings as ECMAScript's JSON.stringify writes them,
// integers only (a record never holds another number).

/** The canonical form of a parsed JSON value; throws on a non-integer or unsafe number. */
export function canonicalize(value) {
  if (value === null || typeof value === "boolean" || typeof value === "string") return JSON.stringify(value);
  if (typeof value === "number") {
    if (!Number.isSafeInteger(value)) throw new Error("a number is not a safe integer");
    return JSON.stringify(value);
  }
  if (Array.isArray(value)) return `[${value.map(canonicalize).join(",")}]`;
  if (typeof value === "object") {
    const keys = Object.keys(value).sort();
    return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalize(value[k])}`).join(",")}}`;
  }
  throw new Error("not a JSON value");
}
