import type { LiveCatalog } from "../catalog/index.js";
import { type Config, providerKeyEnv } from "../config/index.js";
import { LocalProber } from "../routing/index.js";
import type { Logger } from "../telemetry/index.js";
import type { ShutdownStep } from "./shutdown.js";

/**
 * The prober of local runtimes (routing/local-prober.ts), started before the router serves so
 * that the first requests already see which runtimes answer; `SOVR_LOCAL_PROBE_MS=0` turns it off.
 */
export async function startLocalProber(
  config: Config,
  env: Record<string, string | undefined>,
  catalog: LiveCatalog,
  logger: Logger,
  cleanups: ShutdownStep[],
): Promise<LocalProber> {
  const prober = new LocalProber(catalog, {
    ...config.localProbe,
    // Only the allow-listed provider keys, each sent to its own endpoint only.
    env: providerKeyEnv(env, config.catalogEnv),
    onChange: (endpoints, now) =>
      now.state === "unreachable"
        ? logger.warn({ endpoints, reason: now.reason }, "local runtime unreachable: excluded from routing")
        : logger.info({ endpoints, state: now.state }, "local runtime reachable"),
  });
  await prober.start();
  cleanups.push({ name: "local runtime prober", run: () => prober.stop() });
  return prober;
}
