// The public face of api/: other folders import only what is exported here.
export { malformedRequestsAreInvalidArgument } from "./compat/index.js";
export {
  AuditServiceImpl,
  authInterceptor,
  ByokServiceImpl,
  CatalogServiceImpl,
  fromProtoEndpoint,
  HealthState,
  internalErrorInterceptor,
  internalErrorLog,
  KeyServiceImpl,
  ReflectionIndex,
  RouterServiceImpl,
  registerHealth,
  registerReflection,
  toConnectError,
} from "./grpc/index.js";
export { createOpenAIHttpHandler } from "./openai/index.js";
export {
  HttpRateLimit,
  headerValue,
  listen,
  loadTlsOptions,
  type NodeHandler,
  PreAuth,
  RateLimiter,
  type RunningServers,
  rateLimitInterceptor,
} from "./transport/index.js";
