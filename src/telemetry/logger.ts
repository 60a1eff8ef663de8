import { type Logger, pino } from "pino";
import { prettyDestination } from "./pretty-log.js";

export type { Logger };

/** JSON lines, pretty lines for people, or pretty when `destination` is a terminal. */
export type LogFormat = "auto" | "json" | "pretty";

/**
 * Structured logs to stdout, ISO-8601 times: JSON lines for machines, or (`pretty`, or `auto`
 * on a terminal) `time LEVEL message key=value` lines (./pretty-log.ts). Nothing logged
 * anywhere in the router carries message content: log calls pass ids, counts, classes and
 * reasons only, and the redaction below is a second line of defence for fields that would hold
 * content if someone ever passed them.
 */
export function createLogger(
  level: string,
  destination?: NodeJS.WritableStream,
  format: LogFormat = "json",
): Logger {
  const out = destination ?? process.stdout;
  const tty = (out as { isTTY?: boolean }).isTTY === true;
  const pretty = format === "pretty" || (format === "auto" && tty);
  return pino(
    {
      level,
      base: { service: "sovr" },
      timestamp: pino.stdTimeFunctions.isoTime,
      redact: {
        paths: [
          "messages",
          "*.messages",
          "content",
          "*.content",
          "prompt",
          "*.prompt",
          "apiKey",
          "*.apiKey",
          "authorization",
          "*.authorization",
        ],
        censor: "[redacted]",
      },
    },
    pretty ? prettyDestination(out, tty) : out,
  );
}
