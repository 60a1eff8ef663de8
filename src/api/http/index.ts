// The public face of api/http/: other folders import only what is exported here.
export { CONSOLE_CSP, consoleDir, consoleHandler } from "./console-route.js";
export { httpAuthenticate } from "./http-auth.js";
export { type HttpRoutes, httpHandler } from "./http-routes.js";
export { type ReadinessChecks, readiness } from "./readiness.js";
