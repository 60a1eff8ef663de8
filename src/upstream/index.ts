// The public face of upstream/: other folders import only what is exported here.
export { AnthropicAdapter } from "./anthropic-adapter.js";
export { UpstreamError, type UpstreamErrorClass } from "./errors.js";
export { PoolSet } from "./http-call.js";
export { LocalAdapter } from "./local-adapter.js";
export { fileSha256, ggufContextLength, type LocalRuntimeOptions } from "./local-llama.js";
export { OpenAICompatibleAdapter } from "./openai-adapter.js";
export type {
  ContentPart,
  EmbeddingRequest,
  EmbeddingResult,
  MediaSource,
  Modality,
  TokenLogprob,
  UpstreamAdapter,
  UpstreamCallOptions,
  UpstreamEvent,
  UpstreamMessage,
  UpstreamRequest,
  UpstreamTarget,
  UpstreamTool,
  Usage,
} from "./types.js";
