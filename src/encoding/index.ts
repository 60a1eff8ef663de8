// The public face of encoding/: other folders import only what is exported here.
export { fromBase64, toBase64 } from "./base64.js";
export {
  assertIntegersOnly,
  canonicalize,
  canonicalizeRecord,
  NotSafeIntegerError,
} from "./canonical-json.js";
export {
  bool,
  check,
  InvalidFieldError,
  isObject,
  type JsonObject,
  num,
  str,
  strList,
} from "./json-fields.js";
export { pooledRandomBytes } from "./random-pool.js";
export { sha256 } from "./sha256.js";
export { isUuidv7, uuidv7, uuidv7Time } from "./uuidv7.js";
