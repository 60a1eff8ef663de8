/**
 * The optional request parameters the router knows, by their OpenAI / OpenRouter names (the
 * names catalogs use in `supported_parameters`), and what an endpoint that does not declare one
 * means for a request that uses it (docs/routing.md, "API compatibility"):
 *
 * - `contract`: the parameter changes the answer's shape (`response_format`, `tools`,
 *   `logprobs`, `n` > 1, …). An endpoint that does not declare it is excluded with that reason;
 *   sending it somewhere that ignores it would hand the caller an answer it did not ask for.
 * - `advisory`: the parameter tunes the answer (penalties, `seed`, `user`, …). As OpenRouter
 *   does: with `provider.require_parameters` an endpoint that does not declare it is excluded;
 *   without, the request may go there, the parameter is not sent, and the response and the
 *   outcome record name it as not applied.
 * - `retention`: the parameter makes the provider keep or cache data (`store: true`,
 *   prompt-cache hints). (`metadata` is the request's routing labels; it goes upstream only
 *   beside a permitted `store: true`, where it tags the stored completion.) It reaches the policy input as
 *   `request.retention_parameters` and is sent only when the policy's decision permits it
 *   (`permitted_parameters`); otherwise every candidate is excluded (fail closed). It must also
 *   be declared by the endpoint.
 */
import type { ResolvedEndpoint } from "../catalog/index.js";
import type { Exclusion, RouteRequest } from "./types.js";

export type ParameterClass = "contract" | "advisory" | "retention";

/**
 * Every optional parameter a request may carry beyond model and messages. The core sampling
 * parameters (`max_tokens`, `temperature`, `top_p`, `stop`, `seed`, `tools`, `tool_choice`)
 * live in their own RouteRequest fields; the rest in `RouteRequest.params`.
 */
export const PARAMETERS: Readonly<Record<string, ParameterClass>> = {
  max_tokens: "advisory",
  temperature: "advisory",
  top_p: "advisory",
  stop: "advisory",
  seed: "advisory",
  presence_penalty: "advisory",
  frequency_penalty: "advisory",
  logit_bias: "advisory",
  parallel_tool_calls: "advisory",
  reasoning_effort: "advisory",
  reasoning_summary: "advisory",
  verbosity: "advisory",
  user: "advisory",
  safety_identifier: "advisory",
  service_tier: "advisory",
  prediction: "advisory",
  // OpenRouter's sampling parameters beyond OpenAI's.
  top_k: "advisory",
  min_p: "advisory",
  top_a: "advisory",
  repetition_penalty: "advisory",
  tools: "contract",
  tool_choice: "contract",
  response_format: "contract",
  structured_outputs: "contract",
  logprobs: "contract",
  top_logprobs: "contract",
  n: "contract",
  // An image given by URL: the upstream fetches it (the router never does), so only an endpoint
  // that declares it takes image URLs; others need the bytes inline (a data URL).
  image_urls: "contract",
  // Embeddings: the vector length is the answer's shape.
  dimensions: "contract",
  store: "retention",
  prompt_cache_key: "retention",
  prompt_cache_retention: "retention",
  prompt_cache_options: "retention",
};

/**
 * Names in `RouteRequest.params` that are not parameters of their own: `max_completion_tokens`
 * only says which name the caller gave `max_tokens` (which is what counts).
 */
const MARKERS: ReadonlySet<string> = new Set(["max_completion_tokens"]);

/**
 * The class of a name `usedParameters` returns: a name the router does not know is a
 * pass-through the API edge accepted because a catalog endpoint declares it; sent only where
 * declared, so it is a contract parameter.
 */
export function parameterClass(name: string): ParameterClass {
  return Object.hasOwn(PARAMETERS, name) ? PARAMETERS[name]! : "contract";
}

/**
 * Names of the optional parameters `req` uses, each once, in a stable order (the
 * `supported_parameters` names): what the policy input and the decision record list.
 * `response_format` with a JSON schema, and a tool with `strict: true`, also count as
 * `structured_outputs` (OpenRouter's name for strict schema support).
 */
export function usedParameters(req: RouteRequest): string[] {
  const used: string[] = [];
  if (req.maxTokens !== undefined) used.push("max_tokens");
  if (req.temperature !== undefined) used.push("temperature");
  if (req.topP !== undefined) used.push("top_p");
  if (req.stop && req.stop.length > 0) used.push("stop");
  if (req.tools && req.tools.length > 0) used.push("tools");
  if (req.toolChoice !== undefined) used.push("tool_choice");
  if (req.seed !== undefined) used.push("seed");
  const params = req.params;
  if (params) {
    for (const name in params) {
      if (params[name] === undefined || MARKERS.has(name)) continue;
      if (name === "n" && params.n === 1) continue;
      // `store: false` keeps nothing: it is the safe value, sent wherever `store` is declared.
      if (name === "store" && params.store !== true) continue;
      used.push(name);
      if (name === "response_format" && isJsonSchema(params.response_format)) used.push("structured_outputs");
    }
  }
  // A strict tool is Structured Outputs for its arguments.
  if (req.tools?.some((t) => t.function.strict === true) && !used.includes("structured_outputs"))
    used.push("structured_outputs");
  if (hasImageUrl(req)) used.push("image_urls");
  return used;
}

function hasImageUrl(req: RouteRequest): boolean {
  for (const m of req.messages) {
    if (typeof m.content === "string") continue;
    for (const p of m.content) if (p.type === "image" && p.source.kind === "url") return true;
  }
  return false;
}

function isJsonSchema(v: unknown): boolean {
  return typeof v === "object" && v !== null && (v as { type?: unknown }).type === "json_schema";
}

/** The retention parameters `req` uses: what the policy must permit before they are sent. */
export function retentionParameters(req: RouteRequest): string[] {
  return usedParameters(req).filter((p) => parameterClass(p) === "retention");
}

/**
 * The exclusions of `endpoint` for the parameters `req` uses (see the classes above);
 * `permitted` are the retention parameters the policy allowed.
 */
export function parameterExclusions(
  endpoint: ResolvedEndpoint,
  req: RouteRequest,
  permitted: ReadonlySet<string>,
): Exclusion[] {
  const out: Exclusion[] = [];
  const used = usedParameters(req);
  const declared = endpoint.supportedParameters;
  const contract: string[] = [];
  const advisory: string[] = [];
  for (const p of used) {
    if (declared.includes(p)) continue;
    if (parameterClass(p) === "advisory") advisory.push(p);
    else contract.push(p);
  }
  if (contract.length > 0) {
    out.push({
      stage: "filter",
      rule: "parameters",
      reason: `parameters: endpoint does not support ${contract.join(", ")}, which change the answer's contract`,
    });
  }
  if (advisory.length > 0 && req.provider.requireParameters) {
    out.push({
      stage: "filter",
      rule: "require_parameters",
      reason: `require_parameters: endpoint does not support ${advisory.join(", ")}`,
    });
  }
  const refused = used.filter((p) => parameterClass(p) === "retention" && !permitted.has(p));
  if (refused.length > 0) {
    out.push({
      stage: "policy",
      rule: "retention_parameters",
      reason: `retention_parameters: ${refused.join(", ")} would have the provider keep or cache data, and the policy does not permit it`,
    });
  }
  return out;
}

/**
 * The advisory parameters of `req` that `endpoint` does not declare: not sent, and named in
 * the response (`x-sovr-unapplied-parameters`) and the outcome record.
 */
export function unappliedParameters(endpoint: ResolvedEndpoint, req: RouteRequest): string[] {
  return usedParameters(req).filter(
    (p) => parameterClass(p) === "advisory" && !endpoint.supportedParameters.includes(p),
  );
}
