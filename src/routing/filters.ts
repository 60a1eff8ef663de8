import type { TenantKey } from "../auth/index.js";
import { endpointOrigin } from "../auth/index.js";
import type { ResolvedEndpoint } from "../catalog/index.js";
import type { Modality } from "../upstream/index.js";
import { parameterExclusions } from "./parameters.js";
import type { Exclusion, RouteRequest } from "./types.js";

/**
 * The caller's own exclusions (docs/architecture.md §6 step 3), each with a recorded reason. Data-policy
 * preferences (zdr, data_collection, region) are not here: the organisation's policy enforces
 * those, so a request can only tighten them, never loosen them.
 */
const NONE: ReadonlySet<string> = new Set();

/** `permitted`: the retention parameters the policy allowed (routing/parameters.ts). */
export function requestExclusions(
  endpoint: ResolvedEndpoint,
  req: RouteRequest,
  tenantKey?: TenantKey,
  permitted: ReadonlySet<string> = NONE,
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
  out.push(...parameterExclusions(endpoint, req, permitted));
  const modalities = inputModalities(req);
  const missing = modalities.filter((m) => !endpoint.inputModalities.includes(m));
  if (missing.length > 0) {
    out.push({
      stage: "filter",
      rule: "input_modalities",
      reason: `input_modalities: endpoint does not take ${missing.join(", ")} input`,
    });
  }
  const operation = req.operation ?? "chat";
  if (operation !== endpoint.kind) {
    out.push({
      stage: "filter",
      rule: "kind",
      reason: `kind: endpoint serves ${endpoint.kind}, not ${operation}`,
    });
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

/** The request's input modalities, sorted: "text" for any text, then image, audio, file parts. */
export function inputModalities(req: Pick<RouteRequest, "messages" | "operation">): Modality[] {
  const seen = new Set<Modality>();
  for (const m of req.messages) {
    if (typeof m.content === "string") {
      if (m.content.length > 0 || m.tool_calls?.length) seen.add("text");
      continue;
    }
    for (const part of m.content) seen.add(part.type === "text" ? "text" : part.type);
  }
  if (req.messages.length > 0 && seen.size === 0) seen.add("text");
  return MODALITIES.filter((m) => seen.has(m));
}

const MODALITIES: readonly Modality[] = ["text", "image", "audio", "file"];

/**
 * Rough prompt size: ~4 characters per token of text; an image counts as 1,000 tokens (a
 * typical high-detail tile set), audio and files by their base64 size. Counts only; content is
 * not kept.
 */
export function estimatePromptTokens(req: Pick<RouteRequest, "messages">): number {
  let chars = 0;
  for (const m of req.messages) {
    if (typeof m.content === "string") {
      chars += m.content.length;
      continue;
    }
    for (const part of m.content) {
      if (part.type === "text") chars += part.text.length;
      else if (part.type === "image") chars += 4000;
      else if (part.type === "audio") chars += part.data.length / 8;
      else chars += part.source.data.length / 4;
    }
  }
  return Math.ceil(chars / 4);
}
