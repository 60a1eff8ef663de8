/**
 * Value validation of `RouteRequest.params`, the optional parameters by their OpenAI names
 * (routing/parameters.ts classes them). One place for every API that builds `params`: the
 * OpenAI-compatible body parser and the gRPC request both rely on it (through
 * `validateRouteRequest`). Errors name the field as OpenAI spells it and never echo a value.
 */
import { LIMITS } from "../../config/index.js";
import { check, isObject } from "../../encoding/index.js";
import { jsonTooDeep } from "../compat/index.js";

/** OpenAI's `reasoning_effort` values (openai 6.49 `Shared.ReasoningEffort`). */
export const REASONING_EFFORTS: ReadonlySet<string> = new Set([
  "none",
  "minimal",
  "low",
  "medium",
  "high",
  "xhigh",
  "max",
]);
const VERBOSITY = new Set(["low", "medium", "high"]);
const SERVICE_TIERS = new Set(["auto", "default", "flex", "scale", "priority"]);
const CACHE_RETENTION = new Set(["in_memory", "24h"]);
const REASONING_SUMMARY = new Set(["auto", "concise", "detailed"]);
/** OpenAI: `json_schema.name` is a-z, A-Z, 0-9, underscores and dashes, at most 64 characters. */
const SCHEMA_NAME = /^[A-Za-z0-9_-]{1,64}$/;
const TOKEN_ID = /^\d{1,10}$/;
/** Identifier-like strings (`user`, `safety_identifier`, `prompt_cache_key`). */
const ID_LENGTH = 512;
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

type Check = (v: unknown, field: string) => void;

const number =
  (min: number, max: number): Check =>
  (v, f) =>
    check(
      typeof v === "number" && Number.isFinite(v) && v >= min && v <= max,
      f,
      `must be a number from ${min} to ${max}`,
    );

const integer =
  (min: number, max: number): Check =>
  (v, f) =>
    check(
      Number.isSafeInteger(v) && (v as number) >= min && (v as number) <= max,
      f,
      `must be an integer from ${min} to ${max}`,
    );

const boolean: Check = (v, f) => check(typeof v === "boolean", f, "must be true or false");

const oneOf =
  (values: ReadonlySet<string>): Check =>
  (v, f) =>
    check(typeof v === "string" && values.has(v), f, `must be one of ${[...values].join(", ")}`);

const identifier: Check = (v, f) => {
  check(
    typeof v === "string" && v.length <= ID_LENGTH,
    f,
    `must be a string of at most ${ID_LENGTH} characters`,
  );
  check(!LONE_SURROGATE.test(v), f, "must be valid Unicode text (lone surrogate)");
};

/** Free-form JSON: bounded in depth and size. */
function boundedJson(v: unknown, f: string): void {
  check(!jsonTooDeep(v, LIMITS.jsonDepth), f, `nested deeper than ${LIMITS.jsonDepth} levels`);
  check(JSON.stringify(v).length <= LIMITS.paramBytes, f, `at most ${LIMITS.paramBytes} bytes`);
}

/** `{type: "text" | "json_object"}` or `{type: "json_schema", json_schema: {name, description?, schema?, strict?}}`. */
function responseFormat(v: unknown, f: string): void {
  check(isObject(v), f, "must be {type: text | json_object | json_schema}");
  const type = v.type;
  check(
    type === "text" || type === "json_object" || type === "json_schema",
    `${f}.type`,
    "must be text, json_object or json_schema",
  );
  const known = type === "json_schema" ? ["type", "json_schema"] : ["type"];
  for (const k of Object.keys(v))
    check(known.includes(k), `${f}.${k.slice(0, 32)}`, "is not a response_format field");
  if (type !== "json_schema") return;
  const js = v.json_schema;
  const jf = `${f}.json_schema`;
  check(isObject(js), jf, "must be {name, description?, schema?, strict?}");
  for (const k of Object.keys(js))
    check(
      ["name", "description", "schema", "strict"].includes(k),
      `${jf}.${k.slice(0, 32)}`,
      "is not a json_schema field",
    );
  check(
    typeof js.name === "string" && SCHEMA_NAME.test(js.name),
    `${jf}.name`,
    "must be 1 to 64 of a-z, A-Z, 0-9, _ and -",
  );
  if (js.description !== undefined)
    check(
      typeof js.description === "string" && js.description.length <= LIMITS.descriptionLength,
      `${jf}.description`,
      `must be a string of at most ${LIMITS.descriptionLength} characters`,
    );
  if (js.schema !== undefined) {
    check(isObject(js.schema), `${jf}.schema`, "must be a JSON Schema object");
    boundedJson(js.schema, `${jf}.schema`);
  }
  if (js.strict !== undefined && js.strict !== null) boolean(js.strict, `${jf}.strict`);
}

function logitBias(v: unknown, f: string): void {
  check(isObject(v), f, "must be an object of token id → bias");
  const entries = Object.entries(v);
  check(entries.length <= LIMITS.logitBias, f, `at most ${LIMITS.logitBias} entries`);
  for (const [k, b] of entries) {
    check(TOKEN_ID.test(k), f, "keys must be token ids (digits)");
    number(-100, 100)(b, `${f}.${k}`);
  }
}

/** `{type: "content", content: string | text parts}`: predicted output, sized like a message. */
function prediction(v: unknown, f: string): void {
  check(isObject(v) && v.type === "content", f, "must be {type: content, content}");
  const c = v.content;
  let bytes = 0;
  if (typeof c === "string") bytes = Buffer.byteLength(c, "utf8");
  else {
    check(Array.isArray(c), `${f}.content`, "must be a string or an array of text parts");
    c.forEach((p, i) => {
      check(
        isObject(p) && p.type === "text" && typeof p.text === "string",
        `${f}.content[${i}]`,
        "must be a text part",
      );
      bytes += Buffer.byteLength(p.text, "utf8");
    });
  }
  check(bytes <= LIMITS.contentBytes, `${f}.content`, `at most ${LIMITS.contentBytes} bytes`);
}

function promptCacheOptions(v: unknown, f: string): void {
  check(isObject(v), f, "must be {mode?, ttl?}");
  for (const k of Object.keys(v))
    check(k === "mode" || k === "ttl", `${f}.${k.slice(0, 32)}`, "is not a prompt_cache_options field");
  if (v.mode !== undefined) oneOf(new Set(["implicit", "explicit"]))(v.mode, `${f}.mode`);
  if (v.ttl !== undefined) check(v.ttl === "30m", `${f}.ttl`, "must be 30m");
}

/**
 * The validator of every parameter the router knows by name. A name in `params` that is not
 * here is a pass-through (an endpoint of the catalog declares it): bounded JSON only.
 */
const VALIDATORS: Readonly<Record<string, Check>> = {
  response_format: responseFormat,
  logprobs: boolean,
  top_logprobs: integer(0, 20),
  n: integer(1, LIMITS.choices),
  presence_penalty: number(-2, 2),
  frequency_penalty: number(-2, 2),
  logit_bias: logitBias,
  parallel_tool_calls: boolean,
  reasoning_effort: oneOf(REASONING_EFFORTS),
  reasoning_summary: oneOf(REASONING_SUMMARY),
  verbosity: oneOf(VERBOSITY),
  user: identifier,
  safety_identifier: identifier,
  service_tier: oneOf(SERVICE_TIERS),
  prediction,
  store: boolean,
  prompt_cache_key: identifier,
  prompt_cache_retention: oneOf(CACHE_RETENTION),
  prompt_cache_options: promptCacheOptions,
  max_completion_tokens: integer(1, LIMITS.maxTokens),
  // OpenRouter's sampling parameters (https://openrouter.ai/docs/api-reference/parameters).
  top_k: integer(0, 1_000_000),
  min_p: number(0, 1),
  top_a: number(0, 1),
  repetition_penalty: number(0, 2),
};

const PASS_THROUGH_NAME = /^[a-z][a-z0-9_]{0,63}$/;

/** Validates `params` (OpenAI names and values); throws InvalidFieldError naming the field. */
export function validateParams(params: Readonly<Record<string, unknown>>): void {
  const names = Object.keys(params);
  check(names.length <= 64, "params", "at most 64 parameters");
  for (const name of names) {
    const v = params[name];
    if (v === undefined) continue;
    const validate = VALIDATORS[name];
    if (validate) validate(v, name);
    else {
      check(PASS_THROUGH_NAME.test(name), name.slice(0, 64), "is not a parameter name");
      boundedJson(v, name);
    }
  }
  if (params.top_logprobs !== undefined)
    check(params.logprobs === true, "top_logprobs", "requires logprobs: true");
}
