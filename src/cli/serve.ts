import { startApp } from "../app.js";
import { loadConfig } from "../config/config.js";
import { createLogger } from "../telemetry/logger.js";

/**
 * `sovr serve`: everything in one process. SIGTERM/SIGINT drain in-flight calls for at most
 * SOVR_DRAIN_MS, flush the audit log, and exit 0.
 */
export async function serve(): Promise<void> {
  const config = loadConfig();
  const logger = createLogger(config.logLevel);
  const app = await startApp(config, { logger });
  let signalled = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (signalled) return;
    signalled = true;
    logger.info({ signal, inflight: app.servers.inflight, drainMs: config.drainMs }, "draining");
    app.stop().then(
      ({ drained, cut }) => {
        logger.info({ drained, cut }, "stopped");
        process.exit(0);
      },
      (err: unknown) => {
        logger.error({ err }, "shutdown failed");
        process.exit(1);
      },
    );
  };
  process.on("SIGTERM", onSignal);
  process.on("SIGINT", onSignal);
}
