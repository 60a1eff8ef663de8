/**
 * Log lines for people (SOVR_LOG_FORMAT=pretty, or `auto` on a terminal): pino's JSON line
 * turned into `time LEVEL message key=value …`, coloured on a TTY. A small formatter of our own
 * rather than pino-pretty: it only reorders what pino wrote, so the redaction and the fields
 * are exactly those of the JSON form.
 */
const LEVELS: Readonly<Record<number, readonly [string, string]>> = {
  10: ["TRACE", "\x1b[90m"],
  20: ["DEBUG", "\x1b[36m"],
  30: ["INFO ", "\x1b[32m"],
  40: ["WARN ", "\x1b[33m"],
  50: ["ERROR", "\x1b[31m"],
  60: ["FATAL", "\x1b[35m"],
};
const RESET = "\x1b[0m";
const DIM = "\x1b[2m";
/** Written by every line; not repeated in the pretty form. */
const OMIT = new Set(["level", "time", "msg", "service", "pid", "hostname"]);

export function prettyLine(json: string, colour: boolean): string {
  let o: Record<string, unknown>;
  try {
    o = JSON.parse(json) as Record<string, unknown>;
  } catch {
    return json; // not a pino line: as it came
  }
  const [name, code] = LEVELS[o.level as number] ?? [String(o.level), ""];
  const level = colour ? `${code}${name}${RESET}` : name;
  const time = colour ? `${DIM}${String(o.time)}${RESET}` : String(o.time);
  let out = `${time} ${level} ${String(o.msg ?? "")}`;
  for (const [k, v] of Object.entries(o)) {
    if (OMIT.has(k) || v === undefined) continue;
    out += ` ${colour ? `${DIM}${k}=${RESET}` : `${k}=`}${value(v)}`;
  }
  return `${out}\n`;
}

function value(v: unknown): string {
  if (typeof v === "string") return /^[^\s"=]+$/.test(v) ? v : JSON.stringify(v);
  return JSON.stringify(v);
}

/** A pino destination writing pretty lines to `out`. */
export function prettyDestination(
  out: NodeJS.WritableStream,
  colour: boolean,
): { write(line: string): void } {
  return {
    write(line: string) {
      // pino writes one JSON object per line, the newline included.
      out.write(prettyLine(line.endsWith("\n") ? line.slice(0, -1) : line, colour));
    },
  };
}
