// The public face of api/grpc/: other folders import only what is exported here.
export { AuditServiceImpl } from "./audit-service.js";
export { authInterceptor } from "./auth-interceptor.js";
export { ByokServiceImpl } from "./byok-service.js";
export { fromProtoEndpoint } from "./catalog-messages.js";
export { CatalogServiceImpl } from "./catalog-service.js";
export { REASONING_EFFORTS } from "./chat-params.js";
export { validateRouteRequest } from "./chat-request.js";
export { preAuthorizedKey, principalKey, requestNoteKey } from "./context.js";
export { type EncodingFormat, fromOpenAIEmbeddingBody } from "./embed-request.js";
export { InvalidFieldError, toConnectError } from "./errors.js";
export { HealthState, registerHealth } from "./health-service.js";
export { type InternalErrorLog, internalErrorInterceptor, internalErrorLog } from "./internal-errors.js";
export { KeyServiceImpl } from "./key-service.js";
export { ReflectionIndex, registerReflection } from "./reflection-service.js";
export { RouterServiceImpl } from "./router-service.js";
export { registerServices, SERVICES, type ServiceDeps, serviceHealth } from "./services.js";
