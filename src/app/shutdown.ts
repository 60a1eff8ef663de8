import { withDeadline } from "../db/index.js";
import type { Logger } from "../telemetry/index.js";

/** One thing `App.stop()` closes or flushes, named for the log line if it cannot. */
export interface ShutdownStep {
  readonly name: string;
  run(): Promise<unknown> | unknown;
}

/**
 * Whatever the drain left of SOVR_DRAIN_MS, the steps get at least this long: a drain that used
 * its whole budget (a stream cut at the deadline) must still flush the log when the database
 * is healthy, which takes milliseconds.
 */
export const FLUSH_FLOOR_MS = 1000;

/**
 * Runs `steps` in order, each bounded by what is left until `deadline` (performance.now() ms,
 * never less than {@link FLUSH_FLOOR_MS} from the start) so a wedged or vanished database
 * cannot hold the process past it. A step that fails or runs out of time is logged with its
 * name and returned; the next step still runs.
 */
export async function runShutdownSteps(
  steps: readonly ShutdownStep[],
  deadline: number,
  logger: Logger,
): Promise<string[]> {
  const end = Math.max(deadline, performance.now() + FLUSH_FLOOR_MS);
  const failed: string[] = [];
  for (const step of steps) {
    const left = Math.max(0, Math.round(end - performance.now()));
    try {
      await withDeadline(
        Promise.resolve().then(() => step.run()),
        left,
        step.name,
      );
    } catch (err) {
      failed.push(step.name);
      logger.error({ err, step: step.name }, `shutdown: ${step.name} did not complete`);
    }
  }
  return failed;
}

/**
 * The app's `stop()`: once, however often called — health goes false, the shutdown signal ends
 * open streams, the servers drain for at most `drainMs`, then the cleanups run in reverse order
 * of their start within what is left of that time.
 */
export function stopOnce(p: {
  drainMs: number;
  health: { set(ready: boolean): void };
  shutdown: AbortController;
  servers: { close(drainMs: number): Promise<{ drained: boolean; cut: number }> };
  cleanups: ShutdownStep[];
  logger: Logger;
}): () => Promise<{ drained: boolean; cut: number; unflushed: string[] }> {
  let stopping: Promise<{ drained: boolean; cut: number; unflushed: string[] }> | undefined;
  return () => {
    stopping ??= (async () => {
      const deadline = performance.now() + p.drainMs;
      p.health.set(false);
      p.shutdown.abort();
      const result = await p.servers.close(p.drainMs);
      const unflushed = await runShutdownSteps(p.cleanups.reverse(), deadline, p.logger);
      return { ...result, unflushed };
    })();
    return stopping;
  };
}
