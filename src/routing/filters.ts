import type { TenantKey } from "../auth/index.js";
import { endpointOrigin } from "../auth/index.js";
import type { ResolvedEndpoint } from "../catalog/index.js";
import type { Exclusion, RouteRequest } from "./types.js";

/**
 * The caller's own exclusions (docs/architecture.md §6 step 3), each with a recorded reason. Data-policy
 * preferences (zdr, data_collection, region) are not here: the organisation's policy enforces
 * those, so a request can only tighten them, never loosen them.
 */
export function requestExclusions(
  endpoint: ResolvedEndpoint,
  req: RouteRequest,
  tenantKey?: TenantKey,
): Exclusion[] {
  const out: Exclusion[] = [];
  const p = req.provider;
  const names = [endpoint.id, endpoint.provider];
  if (tenantKey?.always && tenantKey.apiKey === undefined) {
    // "Always use my key" with a key we cannot decrypt: the shared key stays forbidden.
    out.push({
      stage: "availability",
      rule: "byok",
      reason: `availability: the tenant's own key for ${endpoint.provider} cannot be decrypted and it must always be used`,
    });
  } else if (!endpoint.available && tenantKey?.apiKey === undefined) {
    out.push({
      stage: "availability",
      rule: "credentials",
      reason: `availability: ${endpoint.unavailableReason ?? "endpoint is unavailable"}`,
    });
  }
  if (tenantKey?.apiKey !== undefined && !tenantKey.origins.has(endpointOrigin(endpoint))) {
    // The tenant chose its own key for this provider, but not for this place: a catalog change
    // moved the endpoint. Neither its key nor the shared one goes there until it re-approves.
    out.push({
      stage: "availability",
      rule: "byok_origin",
      reason: `byok_origin: the tenant's own key for ${endpoint.provider} is not approved for origin ${endpointOrigin(endpoint)}; a tenant admin approves it with \`sovr keys byok approve\``,
    });
  }
  if (p.only && p.only.length > 0 && !names.some((n) => p.only!.includes(n))) {
    out.push({
      stage: "filter",
      rule: "only",
      reason: `only: provider ${endpoint.provider} is not in the only list`,
    });
  }
  if (p.ignore && names.some((n) => p.ignore!.includes(n))) {
    out.push({ stage: "filter", rule: "ignore", reason: `ignore: provider ${endpoint.provider} is ignored` });
  }
  if (p.quantizations && p.quantizations.length > 0) {
    const q = endpoint.quantization;
    if (!q || !p.quantizations.includes(q)) {
      out.push({
        stage: "filter",
        rule: "quantizations",
        reason: `quantizations: endpoint quantization ${q ?? "unknown"} is not in [${p.quantizations.join(", ")}]`,
      });
    }
  }
  const mp = p.maxPrice;
  if (mp?.prompt !== undefined && endpoint.pricing.prompt > mp.prompt) {
    out.push({
      stage: "filter",
      rule: "max_price",
      reason: `max_price: prompt price ${endpoint.pricing.prompt} > ${mp.prompt} USD/M tokens`,
    });
  }
  if (mp?.completion !== undefined && endpoint.pricing.completion > mp.completion) {
    out.push({
      stage: "filter",
      rule: "max_price",
      reason: `max_price: completion price ${endpoint.pricing.completion} > ${mp.completion} USD/M tokens`,
    });
  }
  if (p.requireParameters) {
    const missing = usedParameters(req).filter((x) => !endpoint.supportedParameters.includes(x));
    if (missing.length > 0) {
      out.push({
        stage: "filter",
        rule: "require_parameters",
        reason: `require_parameters: endpoint does not support ${missing.join(", ")}`,
      });
    }
  }
  if (req.maxTokens !== undefined && req.maxTokens > endpoint.contextLength) {
    out.push({
      stage: "filter",
      rule: "context_length",
      reason: `context_length: max_tokens ${req.maxTokens} exceeds the endpoint's context of ${endpoint.contextLength}`,
    });
  }
  return out;
}

/** Names of the optional parameters a request uses (OpenRouter's `supported_parameters` names). */
export function usedParameters(req: RouteRequest): string[] {
  const used: string[] = [];
  if (req.maxTokens !== undefined) used.push("max_tokens");
  if (req.temperature !== undefined) used.push("temperature");
  if (req.topP !== undefined) used.push("top_p");
  if (req.stop && req.stop.length > 0) used.push("stop");
  if (req.tools && req.tools.length > 0) used.push("tools");
  if (req.toolChoice !== undefined) used.push("tool_choice");
  if (req.seed !== undefined) used.push("seed");
  return used;
}

/** Rough prompt size: ~4 characters per token. Counts only; content is not kept. */
export function estimatePromptTokens(req: Pick<RouteRequest, "messages">): number {
  let chars = 0;
  for (const m of req.messages) chars += m.content.length;
  return Math.ceil(chars / 4);
}
