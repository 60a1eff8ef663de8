import cluster from "node:cluster";
import {
  FLUSH_FLOOR_MS,
  limitHeapGrowth,
  runPrimary,
  startApp,
  stopPretenuring,
  WorkerLink,
} from "../app/index.js";
import { loadConfig } from "../config/index.js";
import { createLogger } from "../telemetry/index.js";
import { handOverSignals } from "./signal-handover.js";

/**
 * Past the drain time, this much more for the last log line before the process exits anyway:
 * the shutdown's steps are bounded (src/app/shutdown.ts); this is the backstop for anything
 * that is not.
 */
const EXIT_MARGIN_MS = 2000;

/**
 * `sovr serve`: everything in one process (or, with SOVR_WORKERS > 1, in each of that many
 * workers sharing the ports, src/app/cluster). SIGTERM/SIGINT drain in-flight calls for at most
 * SOVR_DRAIN_MS, flush the audit log, and exit 0 — or 1, naming what could not be flushed or
 * closed (a wedged or vanished database). Either way the process is gone within the drain time.
 * A signal that arrives while the app is starting stops it as soon as it has started.
 */
export async function serve(): Promise<void> {
  const config = loadConfig();
  const root = createLogger(config.logLevel, undefined, config.logFormat);
  // SOVR_WORKERS > 1: this process starts and watches the workers, each a whole `sovr serve`.
  if (config.workers > 1 && cluster.isPrimary) return runPrimary(config, root);
  const link = cluster.isWorker ? new WorkerLink() : undefined;
  // A worker's lines say which worker (the slot the primary keeps it in, 1…SOVR_WORKERS).
  const logger = link ? root.child({ worker: Number(process.env.SOVR_WORKER) }) : root;
  limitHeapGrowth(config.heapGrowingPercent);
  // Before the request path first runs: a place in the code V8 has judged long-lived keeps that verdict.
  stopPretenuring();
  // A signal during start-up (a pod deleted while it connects to its database) is kept and
  // acted on once the app has started: as PID 1 in a container, a signal with no handler is
  // ignored, and the process would wait for SIGKILL.
  let early: NodeJS.Signals | undefined;
  const onEarlySignal = (signal: NodeJS.Signals) => {
    early ??= signal;
  };
  process.on("SIGTERM", onEarlySignal);
  process.on("SIGINT", onEarlySignal);
  const app = await startApp(config, { logger, ...(link ? { cluster: link } : {}) });
  link?.ready();
  let signalled = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (signalled) return;
    signalled = true;
    logger.info({ signal, inflight: app.servers.inflight, drainMs: config.drainMs }, "draining");
    setTimeout(
      () => {
        logger.error({ drainMs: config.drainMs }, "shutdown did not finish within the drain time; exiting");
        process.exit(1);
      },
      config.drainMs + FLUSH_FLOOR_MS + EXIT_MARGIN_MS,
    ).unref();
    link?.close();
    app.stop().then(
      ({ drained, cut, unflushed }) => {
        if (unflushed.length > 0) {
          logger.error({ drained, cut, unflushed }, "stopped; some state could not be flushed");
          process.exit(1);
        }
        logger.info({ drained, cut }, "stopped");
        process.exit(0);
      },
      (err: unknown) => {
        logger.error({ err }, "shutdown failed");
        process.exit(1);
      },
    );
  };
  // The running handler goes on before the start-up one comes off: a signal not yet handed to
  // JavaScript is not lost in between (signal-handover.ts).
  handOverSignals(["SIGTERM", "SIGINT"], onEarlySignal, onSignal);
  // A worker whose primary is gone (killed) drains and exits rather than serve on unwatched.
  if (link) process.on("disconnect", () => onSignal("SIGTERM"));
  if (early) onSignal(early);
}
