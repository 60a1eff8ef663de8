import type { Principal } from "../auth/index.js";
import type { CatalogSnapshot, ResolvedEndpoint } from "../catalog/index.js";
import { isLocalEndpoint } from "../catalog/index.js";
import type { PolicyEndpointInput, PolicyInput } from "../policy/index.js";
import { labelsToPolicy } from "./content-labels.js";
import { estimatePromptTokens, inputModalities } from "./filters.js";
import { retentionParameters, usedParameters } from "./parameters.js";
import { preferencesToJson } from "./preferences-codec.js";
import type { ContentLabels, RouteRequest } from "./types.js";

/**
 * Endpoints are immutable per catalog revision, so their policy view is built once, and
 * frozen: the policy engine loads these objects into its instances' data once per catalog
 * revision ({@link catalogPolicyEndpoints}) and sends a request by endpoint ids only when
 * its candidates are the very objects it loaded.
 */
const endpointInputs = new WeakMap<ResolvedEndpoint, PolicyEndpointInput>();

export function endpointInput(e: ResolvedEndpoint): PolicyEndpointInput {
  let v = endpointInputs.get(e);
  if (!v) {
    const p = e.policy;
    v = {
      id: e.id,
      provider: e.provider,
      provider_headquarters: e.providerHeadquarters,
      model: e.model,
      quantization: e.quantization ?? null,
      pricing: { prompt: e.pricing.prompt, completion: e.pricing.completion },
      context_length: e.contextLength,
      supported_parameters: [...e.supportedParameters],
      kind: e.kind,
      input_modalities: [...e.inputModalities],
      retention_days: { value: p.retentionDays.value, source: p.retentionDays.source },
      trains_on_data: { value: p.trainsOnData.value, source: p.trainsOnData.source },
      residency: {
        value: { region: p.residency.value.region, country: p.residency.value.country },
        source: p.residency.source,
      },
      caching: { value: p.caching.value, source: p.caching.source },
      local: isLocalEndpoint(e),
    };
    deepFreeze(v);
    endpointInputs.set(e, v);
  }
  return v;
}

/** The policy input of docs/architecture.md §5: request summary, principal, candidates, clock. Never content. */
export function buildPolicyInput(
  req: RouteRequest,
  principal: Principal,
  candidates: readonly ResolvedEndpoint[],
  now: string,
  /** What the detectors found; undefined without a detector (`content_labels: null`). */
  contentLabels?: ContentLabels,
): PolicyInput {
  return {
    request: {
      model: req.model,
      models: [...req.models],
      provider: preferencesToJson(req.provider),
      region: req.region,
      labels: { ...req.labels },
      estimated_prompt_tokens: estimatePromptTokens(req),
      max_tokens: req.maxTokens ?? null,
      parameters: usedParameters(req),
      retention_parameters: retentionParameters(req),
      modalities: inputModalities(req),
      operation: req.operation ?? "chat",
      content_labels: labelsToPolicy(contentLabels),
    },
    principal: {
      tenant: principal.tenant,
      workload: principal.workload,
      roles: [...principal.roles],
      identity: principal.identity
        ? { ...principal.identity, claims: { ...principal.identity.claims } }
        : { kind: "anonymous", subject: "", claims: {} },
    },
    endpoints: candidates.map(endpointInput),
    now,
  };
}

/** The policy view of every endpoint of a catalog revision, for `PolicyEngine.setCatalog`. */
export function catalogPolicyEndpoints(snapshot: CatalogSnapshot): PolicyEndpointInput[] {
  return snapshot.endpoints.map(endpointInput);
}

function deepFreeze(o: object): void {
  for (const v of Object.values(o)) if (typeof v === "object" && v !== null) deepFreeze(v);
  Object.freeze(o);
}
