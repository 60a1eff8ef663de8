/**
 * Reading fields of parsed JSON (a request body, a record) with one error for every surface: a
 * value of the wrong type is an {@link InvalidFieldError} naming the field, which the API edge
 * turns into InvalidArgument / HTTP 400 with `param`. Absent and `null` read as undefined.
 */

/** A request field that failed validation; becomes InvalidArgument naming the field. */
export class InvalidFieldError extends Error {
  constructor(
    readonly field: string,
    readonly problem: string,
  ) {
    super(`${field}: ${problem}`);
    this.name = "InvalidFieldError";
  }
}

export type JsonObject = Record<string, unknown>;

export function check(cond: boolean, field: string, problem: string): asserts cond {
  if (!cond) throw new InvalidFieldError(field, problem);
}

export function isObject(v: unknown): v is JsonObject {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

export function str(v: unknown, field: string): string | undefined {
  if (v === undefined || v === null) return undefined;
  check(typeof v === "string", field, "must be a string");
  return v;
}

export function num(v: unknown, field: string): number | undefined {
  if (v === undefined || v === null) return undefined;
  check(typeof v === "number" && Number.isFinite(v), field, "must be a number");
  return v;
}

export function bool(v: unknown, field: string): boolean | undefined {
  if (v === undefined || v === null) return undefined;
  check(typeof v === "boolean", field, "must be true or false");
  return v;
}

/** A list of strings; an empty list reads as undefined (no preference). */
export function strList(v: unknown, field: string): string[] | undefined {
  if (v === undefined || v === null) return undefined;
  check(Array.isArray(v), field, "must be an array of strings");
  v.forEach((x, i) => check(typeof x === "string", `${field}[${i}]`, "must be a string"));
  return v.length > 0 ? (v as string[]) : undefined;
}
