import { type Logger, pino } from "pino";

export type { Logger };

/**
 * Structured JSON logs to stdout. Nothing logged anywhere in the router carries message
 * content: log calls pass ids, counts, classes and reasons only, and the redaction below is a
 * second line of defence for fields that would hold content if someone ever passed them.
 */
export function createLogger(level: string, destination?: NodeJS.WritableStream): Logger {
  return pino(
    {
      level,
      base: { service: "sovr" },
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
    destination ?? process.stdout,
  );
}
