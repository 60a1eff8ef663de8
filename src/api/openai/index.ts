// The public face of api/openai/: other folders import only what is exported here.
export { methodNotAllowed, readJson, sendJson } from "./http-json.js";
export { callerSignal, writeText } from "./http-stream.js";
export {
  createOpenAIHttpHandler,
  errorHeaders,
  type OpenAIError,
  type OpenAIHttpDeps,
  toOpenAIError,
} from "./openai-http.js";
export { routeHeaders } from "./route-headers.js";
