// The public face of api/: other folders import only what is exported here.

export { createAnthropicHttpHandler } from "./anthropic/index.js";
export {
  fromProtoEndpoint,
  type HealthState,
  internalErrorLog,
  registerServices,
  serviceHealth,
} from "./grpc/index.js";
export { CONSOLE_CSP, consoleHandler, httpAuthenticate, httpHandler } from "./http/index.js";
export { createOpenAIHttpHandler } from "./openai/index.js";
export {
  Admission,
  connectHandler,
  HttpRateLimit,
  listen,
  loadHttpsOptions,
  loadTlsOptions,
  type NodeHandler,
  RateLimiter,
  type RunningServers,
  requestLimiter,
  rpcHandlers,
  TlsReloader,
  type TlsReloadTarget,
  tokenLimiter,
} from "./transport/index.js";
