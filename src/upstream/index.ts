// The public face of upstream/: other folders import only what is exported here.
export { AnthropicAdapter } from "./anthropic-adapter.js";
export { UpstreamError, type UpstreamErrorClass } from "./errors.js";
export { PoolSet } from "./http-call.js";
export { OpenAICompatibleAdapter } from "./openai-adapter.js";
export type {
  UpstreamAdapter,
  UpstreamCallOptions,
  UpstreamEvent,
  UpstreamMessage,
  UpstreamRequest,
  UpstreamTarget,
  UpstreamTool,
} from "./types.js";
