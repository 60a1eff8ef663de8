import type { ResolvedEndpoint } from "../catalog/index.js";
import type { UpstreamRequest } from "../upstream/index.js";
import type { RouteRequest } from "./types.js";

/** The request as the endpoint's upstream should see it (its own model name). */
export function toUpstreamRequest(req: RouteRequest, endpoint: ResolvedEndpoint): UpstreamRequest {
  const out: UpstreamRequest = {
    model: endpoint.upstreamModel ?? endpoint.model,
    messages: req.messages as UpstreamRequest["messages"],
  };
  if (req.maxTokens !== undefined) out.max_tokens = req.maxTokens;
  if (req.temperature !== undefined) out.temperature = req.temperature;
  if (req.topP !== undefined) out.top_p = req.topP;
  if (req.stop && req.stop.length > 0) out.stop = [...req.stop];
  if (req.tools && req.tools.length > 0) out.tools = [...req.tools];
  if (req.toolChoice !== undefined) out.tool_choice = req.toolChoice;
  if (req.seed !== undefined) out.seed = req.seed;
  // Advisory parameters the endpoint does not declare are not sent (and reported unapplied);
  // contract and retention ones reach here only when declared (and permitted): filters.ts.
  const declared = endpoint.supportedParameters;
  for (const core of ["max_tokens", "temperature", "top_p", "stop", "seed"] as const)
    if (out[core] !== undefined && !declared.includes(core)) delete out[core];
  if (req.params) {
    const params: Record<string, unknown> = {};
    for (const name in req.params) {
      const v = req.params[name];
      // Known parameters and pass-through names alike go only where declared.
      if (v !== undefined && name !== "max_completion_tokens" && declared.includes(name)) params[name] = v;
    }
    // `store: false` keeps nothing: sent wherever `store` is declared. With a permitted
    // `store: true`, the routing labels go along as the stored completion's metadata.
    if (req.params.store === false && declared.includes("store")) params.store = false;
    if (params.store === true && declared.includes("metadata") && Object.keys(req.labels).length > 0)
      params.metadata = { ...req.labels };
    // Which name the caller gave the limit, for upstreams that tell the two apart.
    if (req.params.max_completion_tokens !== undefined && out.max_tokens !== undefined)
      params.max_completion_tokens = out.max_tokens;
    if (Object.keys(params).length > 0) out.params = params;
  }
  return out;
}
