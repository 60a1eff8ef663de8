// The public face of api/compat/: other folders import only what is exported here.
export { minimalGrpcMessage, patchGrpcMessage } from "./grpc-message.js";
export { jsonTooDeep } from "./json-depth.js";
export { malformedRequestsAreInvalidArgument } from "./malformed-request.js";
