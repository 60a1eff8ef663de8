// The public face of telemetry/: other folders import only what is exported here.
export {
  type AccessEnd,
  type AccessOutcome,
  type AccessRecorder,
  accessLogged,
  accessRecorder,
  noteModel,
  type RequestNote,
  requestNote,
} from "./access-log.js";
export { createLogger, type LogFormat, type Logger } from "./logger.js";
export { Metrics } from "./metrics.js";
export { failSpan, type Span, startTracing, TRACING_OFF, type Tracing } from "./tracing.js";
