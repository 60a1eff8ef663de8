// The public face of api/transport/: other folders import only what is exported here.

export { type ConnectHandlerOptions, connectHandler } from "./connect-handler.js";
export { peerCertificate } from "./peer-certificate.js";
export { headerValue, httpAuthorization, PreAuth } from "./pre-auth.js";
export { HttpRateLimit, RateLimiter, rateLimitInterceptor } from "./rate-limit.js";
export { listen, type NodeHandler, type RunningServers } from "./server.js";
export { loadTlsOptions } from "./tls.js";
export { loadHttpsOptions, TlsReloader, type TlsReloadTarget } from "./tls-reload.js";
