/**
 * The logs' second line of defence (./logger.ts): a field that would hold content or a secret,
 * if someone ever passed one, is written as {@link CENSOR}. A field of these names is censored
 * at the top of a line and one level down, in any object a line carries (`{ req: { content } }`,
 * an error with its own `apiKey`) — what pino's redaction paths `name` and `*.name` covered.
 *
 * Run as pino's `formatters.log` (every line) and on a child logger's bindings (once, when it
 * is made). A line with none of these fields is returned as it came: nothing is copied, and no
 * field is looked at twice. Pino's own redaction (`@pinojs/redact`) ran every value of every line
 * through its wildcard paths, parsing each path again each time: ~20 KB of garbage for an access
 * line (bench/findings.md, session 20).
 */
const REDACTED = new Set(["messages", "content", "prompt", "apiKey", "authorization"]);

export const CENSOR = "[redacted]";

export function redactLogFields<T extends Record<string, unknown>>(fields: T): T {
  let out: Record<string, unknown> | undefined;
  for (const key in fields) {
    if (!Object.hasOwn(fields, key)) continue;
    const value = fields[key];
    let next: unknown = value;
    if (REDACTED.has(key)) next = value === undefined ? undefined : CENSOR;
    else if (value !== null && typeof value === "object" && !Array.isArray(value)) next = censored(value);
    if (next !== value) {
      out ??= { ...fields };
      out[key] = next;
    }
  }
  return (out ?? fields) as T;
}

/** `obj` with its own redacted fields censored (a copy with the same prototype), or `obj` itself. */
function censored(obj: object): object {
  let copy: Record<string, unknown> | undefined;
  for (const key of REDACTED) {
    if (!Object.hasOwn(obj, key) || (obj as Record<string, unknown>)[key] === undefined) continue;
    if (copy === undefined) {
      // Own properties as they are (an error's message and stack are not enumerable); the stack
      // as text, since newer V8s keep it behind an accessor bound to the original error.
      copy = Object.create(Object.getPrototypeOf(obj), Object.getOwnPropertyDescriptors(obj)) as Record<
        string,
        unknown
      >;
      if (obj instanceof Error)
        Object.defineProperty(copy, "stack", { value: obj.stack, writable: true, configurable: true });
    }
    Object.defineProperty(copy, key, { value: CENSOR, enumerable: true, writable: true, configurable: true });
  }
  return copy ?? obj;
}
