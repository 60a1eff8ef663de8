// The public face of api/anthropic/: other folders import only what is exported here.
export { type AnthropicHttpDeps, createAnthropicHttpHandler } from "./messages-route.js";
