import type { Config } from "../config/index.js";
import { type Simulator, startSimulator } from "../simulator/index.js";
import type { Logger } from "../telemetry/index.js";
import type { ShutdownStep } from "./shutdown.js";

/** The in-process upstream simulator of SOVR_SIMULATOR (local use, benchmarks, tests). */
export async function startConfiguredSimulator(
  config: Config,
  logger: Logger,
  cleanups: ShutdownStep[],
): Promise<Simulator> {
  const { ttftMs, tokensPerSecond, completionTokens } = config.simulator;
  const simulator = await startSimulator({
    port: config.simulator.port,
    defaults: { ttftMs, tokensPerSecond, completionTokens },
  });
  cleanups.push({ name: "upstream simulator", run: () => simulator.close() });
  logger.info({ url: simulator.url }, "upstream simulator listening");
  return simulator;
}
