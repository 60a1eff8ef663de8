import { type DestinationStream, type Logger, pino } from "pino";
import { redactLogFields } from "./log-redaction.js";
import { prettyDestination } from "./pretty-log.js";

export type { Logger };

/** JSON lines, pretty lines for people, or pretty when `destination` is a terminal. */
export type LogFormat = "auto" | "json" | "pretty";

/**
 * Where JSON lines go when no destination is given: file descriptor 1, gathered. Node's
 * `process.stdout` writes every line at once and synchronously when stdout is a file or a pipe
 * (Linux): at info, one system call per request for its access line, and on a pipe a wake-up of
 * the reader (journald, a log shipper) each time — measured in bench/findings.md (session 17)
 * at 4–13 % of a routed request's CPU (two runs). Here lines wait in memory until 8 KiB have
 * gathered or {@link FLUSH_MS} have passed since the first of them, then go out in one write
 * (pino's sonic-boom, which also retries a full pipe). A line is therefore on stdout at most
 * 100 ms after it was logged; on exit (`process.exit`, an uncaught exception, the end of a
 * graceful shutdown) whatever is gathered is written before the process ends. A process killed
 * with SIGKILL loses the lines of its last 100 ms. One writer per process, however many loggers.
 */
const FLUSH_MS = 100;
let stdoutWriter: DestinationStream | undefined;

function stdoutLines(): DestinationStream {
  if (stdoutWriter) return stdoutWriter;
  const boom = pino.destination({ dest: 1, sync: true, minLength: 8192 });
  let timer: NodeJS.Timeout | undefined;
  const flush = () => {
    timer = undefined;
    boom.flush();
  };
  process.once("exit", () => {
    if (timer) clearTimeout(timer);
    boom.flushSync();
  });
  stdoutWriter = {
    write(line: string) {
      boom.write(line);
      // Not kept alive by its own timer: the exit handler writes what is left.
      timer ??= setTimeout(flush, FLUSH_MS).unref();
    },
  };
  return stdoutWriter;
}

/**
 * Structured logs to stdout, ISO-8601 times: JSON lines for machines, or (`pretty`, or `auto`
 * on a terminal) `time LEVEL message key=value` lines (./pretty-log.ts). Nothing logged
 * anywhere in the router carries message content: log calls pass ids, counts, classes and
 * reasons only, and ./log-redaction.ts is a second line of defence for fields that would hold
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
  const logger = pino(
    {
      level,
      base: { service: "sovr" },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { log: redactLogFields },
    },
    pretty ? prettyDestination(out, tty) : (destination ?? stdoutLines()),
  );
  // Pino passes a child's bindings through no formatter: they are censored here, for every
  // child and grandchild (a child is created from its parent's prototype and inherits this).
  const child = logger.child;
  logger.child = function (this: Logger, bindings, options) {
    return child.call(this, redactLogFields(bindings), options);
  } as Logger["child"];
  return logger;
}
