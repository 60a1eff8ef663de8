// The public face of telemetry/: other folders import only what is exported here.
export { createLogger, type Logger } from "./logger.js";
export { Metrics } from "./metrics.js";
