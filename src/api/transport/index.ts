// The public face of api/transport/: other folders import only what is exported here.

export { ADMITTED, Admission, type AdmissionOptions, OverloadedError } from "./admission.js";
export { ClusterRateLimiter, ClusterTokenLimiter } from "./cluster-limit.js";
export { type ConnectHandlerOptions, connectHandler, rpcHandlers } from "./connect-handler.js";
export type { H2StreamHandler } from "./grpc-stream.js";
export { requestLimiter, tokenLimiter } from "./limiters.js";
export { peerCertificate } from "./peer-certificate.js";
export { headerValue, httpAuthorization, PreAuth } from "./pre-auth.js";
export {
  HttpRateLimit,
  RateLimitedError,
  RateLimiter,
  type RequestLimiter,
  rateLimitInterceptor,
} from "./rate-limit.js";
export { listen, type NodeHandler, type RunningServers } from "./server.js";
export { loadTlsOptions } from "./tls.js";
export { loadHttpsOptions, TlsReloader, type TlsReloadTarget } from "./tls-reload.js";
export { TokenLimiter } from "./token-limit.js";
