// The public face of api/openai/: other folders import only what is exported here.
export { createOpenAIHttpHandler, type OpenAIHttpDeps } from "./openai-http.js";
